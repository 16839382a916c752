"""Limits a real worker enforces while it decodes, so no upload exhausts it: memory flat in
the number of frames, a huge frame refused before it is decoded, job wall time."""

from __future__ import annotations

import shutil
import time
import uuid
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.domain.model import Job, input_key
from app.testing.processes import Services
from app.tests.worker.conftest import FAST_RECOVERY

pytestmark = pytest.mark.worker
MB = 1024 * 1024


def memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak since the last reset) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh from the current RSS (Linux clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def growth_mb(pid: int, baseline_kb: int) -> float:
    return (memory_kb(pid, "VmHWM") - baseline_kb) / 1024


@pytest.fixture(scope="session")
def many_tiny_frames(tmp_path_factory) -> Path:
    """200,000 frames of 16x16 at 1000 fps (4.5 MB): a frame-count bomb, not a video."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 1000, (16, 16))
    shades = [np.full((16, 16, 3), value, np.uint8) for value in range(0, 250, 10)]
    for i in range(200_000):
        writer.write(shades[i % len(shades)])
    writer.release()
    return path


@pytest.fixture(scope="session")
def huge_still(tmp_path_factory) -> Path:
    """Ten seconds of one 8192x8192 picture (536 KB as H.264)."""
    path = tmp_path_factory.mktemp("huge") / "huge.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=1, options={"preset": "ultrafast"})
        stream.width = stream.height = 8192
        stream.pix_fmt = "yuv420p"
        image = np.zeros((8192, 8192, 3), np.uint8)
        image[::64] = 255
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        for second in range(10):
            frame.pts, frame.time_base = second, Fraction(1, 1)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


# 200,000 frames take about 160 s on an idle 2-core machine and more than the suite's
# 300 s hang guard on a busy one: this test measures memory, never speed.
@pytest.mark.timeout(1500)
def test_worker_memory_stays_flat_over_200000_frames(services_factory, many_tiny_frames):
    services = services_factory()
    services.start_api()
    worker = services.start_worker()
    job_id = services.submit(many_tiny_frames, "motion")
    deadline = time.monotonic() + 600
    while services.status(job_id)["frames_done"] < 20_000:  # past start-up and warm-up
        assert time.monotonic() < deadline, services.status(job_id)
        time.sleep(0.05)
    baseline = memory_kb(worker.pid, "VmRSS")
    reset_peak(worker.pid)
    status = services.wait_for(job_id, timeout=900)
    assert status["status"] == "completed", status
    growth = growth_mb(worker.pid, baseline)
    assert growth < 64, f"worker RSS grew {growth:.1f} MB over 180,000 frames"
    lines = services.data_dir / "video_jobs" / f"{job_id}_results.jsonl"
    with lines.open("rb") as handle:
        assert sum(1 for _ in handle) == 200_000
    assert services.stop(worker) == 0


def insert_pending_job(services: Services, video: Path) -> str:
    """Store an upload and its row as submit would, without submit's header checks
    (a video whose header passed them): the API's sweep hands it to the worker."""
    job = Job(job_id=uuid.uuid4(), pipeline_id="motion", input_path="")
    stored = services.data_dir / "video_jobs" / input_key(job.job_id)
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, stored)
    from app.bootstrap import build_database
    from app.settings import Settings

    settings = Settings(_env_file=None, data_dir=services.data_dir)
    database = build_database(settings, pool_size=1)
    try:
        relative = stored.relative_to(services.data_dir).as_posix()
        database.jobs.add(Job(job_id=job.job_id, pipeline_id="motion", input_path=relative))
    finally:
        database.close()
    return str(job.job_id)


def test_an_8192x8192_still_is_refused_without_decoding_it(services_factory, huge_still, clip_path):
    services = services_factory(**FAST_RECOVERY)
    services.start_api()
    worker = services.start_worker()
    warm_up = services.submit(clip_path, "motion")  # first-job imports and allocations
    assert services.wait_for(warm_up)["status"] == "completed"
    baseline = memory_kb(worker.pid, "VmRSS")
    reset_peak(worker.pid)
    job_id = insert_pending_job(services, huge_still)
    status = services.wait_for(job_id, timeout=60)
    assert status["status"] == "failed", status
    assert "8192x8192" in status["error_message"]
    assert "VIDEO_JOBS_MAX_PIXELS" in status["error_message"]
    growth = growth_mb(worker.pid, baseline)  # one decoded 8192x8192 frame is 192 MB
    assert growth < 64, f"worker RSS grew {growth:.1f} MB on one 8192x8192 frame"
    assert services.stop(worker) == 0


def test_a_job_over_its_time_limit_fails_naming_the_setting(
    services_factory, long_clip, slow_pipeline_dir
):
    services = services_factory(pipelines_dir=slow_pipeline_dir, max_job_s=1)
    services.start_api()
    services.start_worker()
    job_id = services.submit(long_clip, "slow")
    status = services.wait_for(job_id, timeout=120)
    assert status["status"] == "failed", status
    assert "VIDEO_JOBS_MAX_JOB_S" in status["error_message"]
    assert not list((services.data_dir / "video_jobs").glob(f"{job_id}_*"))


def test_a_job_released_by_sigterm_shows_no_progress_from_the_stopped_run(
    services_factory, long_clip, slow_pipeline_dir
):
    services = services_factory(pipelines_dir=slow_pipeline_dir, **FAST_RECOVERY)
    services.start_api()
    worker = services.start_worker()
    job_id = services.submit(long_clip, "slow")
    deadline = time.monotonic() + 120
    while services.status(job_id)["frames_done"] < 5:  # progress was reported
        assert time.monotonic() < deadline, services.status(job_id)
        time.sleep(0.05)
    assert services.stop(worker) == 0
    status = services.status(job_id)
    assert status["status"] == "pending"
    assert (status["frames_done"], status["fps"], status["eta_s"]) == (0, None, None)
    assert not list((services.data_dir / "video_jobs").glob(f"{job_id}_*"))
