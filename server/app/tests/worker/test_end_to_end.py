"""The whole path with real processes: uvicorn API + worker_runner, over HTTP.

This is the test that catches a queue that is not shared between the processes.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest

from app.testing.mp4_synth import undecodable_mp4

pytestmark = pytest.mark.worker


def test_submitted_clip_completes_through_real_api_and_worker(services_factory, clip_path: Path):
    services = services_factory()
    services.start_api()
    worker = services.start_worker()
    job_id = services.submit(clip_path, "motion")
    assert uuid.UUID(job_id).version == 4

    status = services.wait_for(job_id)
    assert status["status"] == "completed", status
    assert status["progress"] == 1.0 and status["error_message"] is None

    document = services.results(job_id)
    assert document["job_id"] == job_id and document["pipeline_id"] == "motion"
    assert document["video"]["frame_count"] == 30
    assert (document["video"]["width"], document["video"]["height"]) == (320, 240)
    assert [item["frame_index"] for item in document["results"]] == list(range(30))
    assert all("motion_ratio" in item["result"] for item in document["results"])
    assert (services.data_dir / "video_jobs" / f"{job_id}_results.json").is_file()
    assert services.job_row(job_id).output_path == f"video_jobs/{job_id}_results.json"

    assert services.stop(worker) == 0
    assert services.stop_api_cleanly()


def test_worker_started_before_the_api_waits_then_takes_jobs(services_factory, clip_path: Path):
    services = services_factory()
    worker = services.start_worker()
    services.start_api()
    job_id = services.submit(clip_path, "quality")
    assert services.wait_for(job_id)["status"] == "completed"
    assert worker.poll() is None
    assert services.stop(worker) == 0


def test_worker_once_processes_one_job_and_exits_zero(services_factory, clip_path: Path):
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip_path, "motion")
    worker = services.start_worker("--once")
    assert worker.wait(timeout=300) == 0  # generous: the machine may be loaded
    assert services.status(job_id)["status"] == "completed"


def test_corrupt_upload_fails_with_message_and_worker_survives(
    services_factory, tmp_path: Path, clip_path: Path
):
    services = services_factory()
    services.start_api()
    worker = services.start_worker()
    garbage = undecodable_mp4(tmp_path / "garbage.mp4")  # passes the submit's header check
    bad = services.wait_for(services.submit(garbage, "motion"))
    assert bad["status"] == "failed" and bad["progress"] == 1.0
    assert "corrupt" in bad["error_message"]

    good = services.wait_for(services.submit(clip_path, "motion"))
    assert good["status"] == "completed"
    assert worker.poll() is None
    assert services.stop(worker, signal.SIGINT) == 0


def test_worker_once_without_an_api_gives_up_and_exits_zero(services_factory):
    services = services_factory()
    worker = services.start_worker("--once")  # no API: no schema, no queue, ever
    assert worker.wait(timeout=90) == 0
    assert "exiting" in services.log_of(worker)
