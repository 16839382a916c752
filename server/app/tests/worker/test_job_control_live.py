"""Cancel and frame progress on a job that is really running in a worker process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.worker


def test_running_job_reports_frame_progress_then_cancel_stops_it_within_a_second(
    services_factory, long_clip: Path, clip_path: Path, slow_pipeline_dir: Path
):
    services = services_factory(pipelines_dir=slow_pipeline_dir)
    services.start_api()
    worker = services.start_worker()
    job_id = services.submit(long_clip, "slow")
    services.wait_for(job_id, {"running"})

    deadline = time.monotonic() + 120  # generous: the machine may be loaded
    status = services.status(job_id)
    while status["frames_done"] < 20 and time.monotonic() < deadline:
        time.sleep(0.1)
        status = services.status(job_id)
    assert status["status"] == "running" and status["progress"] == 0.5
    assert 20 <= status["frames_done"] < 400
    assert status["frames_total"] == 400 and status["frames_total_is_estimate"] is True
    assert status["fps"] > 0 and status["eta_s"] > 0

    asked = time.monotonic()
    response = services.client.delete(f"/video/jobs/{job_id}")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    log_line = f"job {job_id}: claim lost"
    while log_line not in services.log_of(worker):  # noticed at the next heartbeat (0.5 s)
        assert time.monotonic() - asked < 60, "the worker did not notice the cancel"
        time.sleep(0.05)

    nxt = services.submit(clip_path, "motion")
    assert services.wait_for(nxt)["status"] == "completed"
    final = services.status(job_id)
    assert final["status"] == "canceled"
    assert services.client.get(f"/video/results/{job_id}").status_code == 404
    assert not (services.data_dir / "video_jobs" / f"{job_id}_results.json").exists()
    assert services.stop(worker) == 0
