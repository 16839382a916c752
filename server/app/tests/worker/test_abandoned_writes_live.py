"""The API's sweep and a job's temporary files, with real processes: a job that runs
far longer than the sweep's idle age keeps every file it is writing, and the files of a
killed worker are removed once its lease is over."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.testing.processes import Services
from app.tests.worker.conftest import FAST_RECOVERY

pytestmark = pytest.mark.worker
IDLE_AGE_S = 1.0  # VIDEO_JOBS_ABANDONED_WRITE_AGE_S, far below the jobs' run time
EXPORTS = ("summary", "detections.csv", "tracks.vtt", "annotated.mp4")


def submit_annotated(services: Services, clip: Path) -> str:
    with clip.open("rb") as handle:
        response = services.client.post(
            "/video/submit",
            files={"file": (clip.name, handle, "video/mp4")},
            data={"pipeline_id": "slow", "annotate": "true"},
        )
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def part_files(services: Services, job_id: str) -> list[Path]:
    return sorted((services.data_dir / "video_jobs").glob(f".{job_id}*.part"))


def wait_for_idle_part(services: Services, job_id: str, idle_s: float, timeout: float) -> Path:
    """A part file of the running job that nobody has written for `idle_s` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert services.status(job_id)["status"] == "running", "the job ended too soon"
        for path in part_files(services, job_id):
            try:
                if time.time() - path.stat().st_mtime > idle_s:
                    return path
            except FileNotFoundError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"no part file idle for {idle_s}s: {part_files(services, job_id)}")


def test_a_job_running_far_past_the_sweep_age_completes_with_every_export(
    services_factory, long_clip: Path, slow_pipeline_dir: Path
):
    services = services_factory(
        pipelines_dir=slow_pipeline_dir, abandoned_write_age_s=IDLE_AGE_S, **FAST_RECOVERY
    )
    services.start_api()
    services.start_worker()
    job_id = submit_annotated(services, long_clip)
    services.wait_for(job_id, {"running"})
    # The WebVTT is opened at the start and written at the end: idle for 4 sweep ages
    # (8 sweeps at 0.5 s) and still there.
    idle = wait_for_idle_part(services, job_id, idle_s=4 * IDLE_AGE_S, timeout=60)
    time.sleep(1.0)
    assert idle.exists(), "the sweep removed a file of a running job"

    status = services.wait_for(job_id, timeout=240)
    assert status["status"] == "completed", status
    for export in EXPORTS:
        response = services.client.get(f"/video/jobs/{job_id}/{export}")
        assert response.status_code == 200, (export, response.text[:200])
        assert response.content, export
    vtt = services.client.get(f"/video/jobs/{job_id}/tracks.vtt").text
    assert vtt.startswith("WEBVTT")
    assert part_files(services, job_id) == []


def test_a_killed_workers_part_files_are_removed_once_its_lease_is_over(
    services_factory, long_clip: Path, slow_pipeline_dir: Path
):
    services = services_factory(
        pipelines_dir=slow_pipeline_dir,
        abandoned_write_age_s=3600,  # the age rule plays no part for a job's files
        max_attempts=1,
        **FAST_RECOVERY,
    )
    services.start_api()
    worker = services.start_worker()
    job_id = submit_annotated(services, long_clip)
    services.wait_for(job_id, {"running"})
    deadline = time.monotonic() + 30
    while not part_files(services, job_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = part_files(services, job_id)
    assert left, "the running job had no temporary files to leave behind"
    services.kill(worker)  # kill -9: nothing is cleaned up by the worker

    status = services.wait_for(job_id, {"failed"}, timeout=60)
    assert "stopped responding" in status["error_message"]
    deadline = time.monotonic() + 30
    while part_files(services, job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert part_files(services, job_id) == [], f"still there: {left}"
