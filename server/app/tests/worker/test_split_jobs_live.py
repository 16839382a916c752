"""One long video across many workers, against real API and worker processes: a 40 s
clip split (SPLIT_MIN_S=20, SEGMENT_S=13) into 3 segments with 3 s overlaps.

The merge itself is tested beside it (segment merge tests); here: the jobs around it.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.model import JobStatus
from app.tests.fixtures.videos import make_moving_box_mp4
from app.tests.integration.conftest import postgres_schema_url
from app.tests.worker.conftest import FAST_RECOVERY

pytestmark = pytest.mark.worker

SPLIT = {"split_min_s": 20, "segment_s": 13, "segment_overlap_s": 3}
POSTGRES = os.environ.get("VIDEO_JOBS_TEST_POSTGRES_URL")
REDIS = os.environ.get("VIDEO_JOBS_TEST_REDIS_URL")


@pytest.fixture(params=["sqlite+manager", "postgres+redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The default stores, and PostgreSQL + Redis (when their test URLs are set)."""
    if request.param == "sqlite+manager":
        yield {}
        return
    if not (POSTGRES and REDIS):
        pytest.skip("needs VIDEO_JOBS_TEST_POSTGRES_URL and VIDEO_JOBS_TEST_REDIS_URL")
    with postgres_schema_url(POSTGRES) as database_url:
        yield {
            "database_url": database_url,
            "queue_url": REDIS,
            "queue_name": f"vj-split-{uuid.uuid4().hex[:8]}",
        }


@pytest.fixture(scope="module")
def clip40(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s at 25 fps, a keyframe every 12 frames (OpenCV's mp4v writer)."""
    folder = tmp_path_factory.mktemp("split")
    return make_moving_box_mp4(folder / "clip40.mp4", count=1000, width=160, height=120)


def submit(services, path: Path, pipeline_id: str, **fields: str) -> str:
    with open(path, "rb") as handle:
        response = services.client.post(
            "/video/submit",
            files={"file": (path.name, handle, "video/mp4")},
            data={"pipeline_id": pipeline_id, **fields},
        )
    assert response.status_code == 200, response.text
    return str(response.json()["job_id"])


def segments_of(services, job_id: str) -> list[dict]:
    listed = services.client.get("/video/jobs", params={"include_segments": "true"}).json()
    found = [j for j in listed["jobs"] if j["parent_id"] == job_id]
    return sorted(found, key=lambda j: j["segment_index"])


def wait_until(predicate, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached in {timeout}s")


def test_a_split_job_completes_with_its_segments_counted_and_hidden(services_factory, clip40):
    services = services_factory(**SPLIT)
    services.start_api()
    services.start_workers(2)
    split_id = submit(services, clip40, "motion")
    whole_id = submit(services, clip40, "motion", split="false")
    done = services.wait_for(split_id)
    assert done["status"] == "completed", done
    assert done["segments"] == {"total": 3, "completed": 3, "running": 0, "failed": 0}
    assert services.wait_for(whole_id)["segments"] is None

    listed = services.client.get("/video/jobs").json()
    assert {j["job_id"] for j in listed["jobs"]} == {split_id, whole_id}
    assert listed["total"] == 2
    segments = segments_of(services, split_id)
    assert [s["segment_index"] for s in segments] == [0, 1, 2]
    assert all(s["status"] == "completed" for s in segments)
    starts = [s["options"]["start_s"] for s in segments]
    assert starts[0] == 0 and 12 < starts[1] < 15 and 25 < starts[2] < 28
    assert segments[0]["options"]["end_s"] == pytest.approx(starts[1] + 3, abs=0.05)
    assert all(services.job_row(s["job_id"]).attempts == 1 for s in segments)

    # Same frames as the unsplit run, each once, in order.
    split_frames = [r["frame_index"] for r in services.results(split_id)["results"]]
    whole_frames = [r["frame_index"] for r in services.results(whole_id)["results"]]
    assert split_frames == whole_frames == list(range(1000))
    # The segments' own files are gone once merged; their rows stay.
    files = {p.name for p in (services.data_dir / "video_jobs").iterdir()}
    assert not [f for f in files if any(f.startswith(s["job_id"]) for s in segments)]
    metrics = services.client.get("/metrics").text
    assert 'video_jobs_segments{state="completed"} 3.0' in metrics


def test_a_killed_worker_reruns_only_its_segment(
    services_factory, clip40, slow_pipeline_dir, backend
):
    services = services_factory(
        **SPLIT, **FAST_RECOVERY, **backend, pipelines_dir=slow_pipeline_dir
    )
    services.start_api()
    [doomed] = services.start_workers(1)
    job_id = submit(services, clip40, "slow")

    def middle_running() -> bool:
        segments = segments_of(services, job_id)
        return len(segments) == 3 and any(
            s["status"] == "running" and s["frames_done"] > 0 and s["segment_index"] >= 1
            for s in segments
        )

    wait_until(middle_running, what="a later segment running")
    running = next(s for s in segments_of(services, job_id) if s["status"] == "running")
    services.kill(doomed)  # SIGKILL mid-segment: no release, no goodbye
    services.start_workers(2)
    done = services.wait_for(job_id, timeout=300)
    assert done["status"] == "completed", done
    attempts = {
        s["job_id"]: services.job_row(s["job_id"]).attempts for s in segments_of(services, job_id)
    }
    assert attempts.pop(running["job_id"]) == 2
    assert set(attempts.values()) == {1}  # the others ran once, their work kept


def test_cancel_stops_every_segment(services_factory, clip40, slow_pipeline_dir):
    services = services_factory(**SPLIT, pipelines_dir=slow_pipeline_dir)
    services.start_api()
    services.start_workers(2)
    job_id = submit(services, clip40, "slow")
    wait_until(
        lambda: sum(s["status"] == "running" for s in segments_of(services, job_id)) == 2,
        what="two segments running",
    )
    running = services.status(job_id)
    assert running["status"] == "running" and running["segments"]["running"] == 2
    assert running["frames_total"] is not None and running["frames_total"] >= 1000
    canceled = services.client.delete(f"/video/jobs/{job_id}")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    wait_until(
        lambda: all(
            services.job_row(s["job_id"]).status is JobStatus.CANCELED
            for s in segments_of(services, job_id)
        ),
        what="every segment canceled",
    )
    # The workers gave up their segments: nothing runs, nothing was merged.
    time.sleep(2)
    assert all(s["status"] == "canceled" for s in segments_of(services, job_id))
    assert services.status(job_id)["status"] == "canceled"
    assert not list((services.data_dir / "video_jobs").glob(f"{job_id}_results*"))


def test_a_failing_segment_fails_the_job_with_its_place(
    services_factory, clip40, slow_pipeline_dir
):
    services = services_factory(**SPLIT, pipelines_dir=slow_pipeline_dir, max_job_s=1)
    services.start_api()
    services.start_workers(2)
    job_id = submit(services, clip40, "slow")
    failed = services.wait_for(job_id, timeout=120)
    assert failed["status"] == "failed"
    message = failed["error_message"]
    assert re.fullmatch(
        r"segment [123]/3 \(\d:\d\d\u2013\d:\d\d\) failed: the job ran longer than 1 s.*",
        message,
    ), message
    assert failed["segments"]["failed"] >= 1
    wait_until(
        lambda: all(
            services.job_row(s["job_id"]).status.is_finished for s in segments_of(services, job_id)
        ),
        what="every segment finished",
    )
    statuses = {s["status"] for s in segments_of(services, job_id)}
    assert statuses <= {"failed", "canceled"}
    assert uuid.UUID(job_id)
