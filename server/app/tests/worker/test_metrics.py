"""Operations with real processes: JSON log lines that carry the job id, the API's
/metrics, and a worker process serving its own metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.testing.processes import free_port
from app.workers import worker_runner

pytestmark = pytest.mark.worker

RUNNER_SERVES_METRICS = "serve_worker_metrics" in Path(worker_runner.__file__).read_text()


def json_lines_about(log: str, job_id: str) -> list[dict]:
    """The log lines that mention the job, each parsed as JSON (fails if one is not)."""
    return [json.loads(line) for line in log.splitlines() if job_id in line]


@pytest.mark.parametrize("from_dotenv", [False, True], ids=["environment", "dotenv"])
def test_json_logs_put_the_job_id_on_every_line_about_the_job(
    services_factory, clip_path, from_dotenv
):
    """Also when the format comes from `.env`: both processes read Settings before they
    configure logging (the worker used to log text then)."""
    if from_dotenv:
        services = services_factory()
        (services.root / ".env").write_text("VIDEO_JOBS_LOG_FORMAT=json\n")
    else:
        services = services_factory(log_format="json")
    services.start_api()
    worker = services.start_worker()
    job_id = services.submit(clip_path, "motion")
    assert services.wait_for(job_id)["status"] == "completed"
    assert services.stop(worker) == 0
    assert services.stop_api_cleanly()

    worker_lines = json_lines_about(services.log_of(worker), job_id)
    api_lines = json_lines_about(services.log_of(services.api), job_id)
    assert len(worker_lines) >= 2 and api_lines  # claimed + completed; submitted
    for entry in worker_lines + api_lines:
        assert entry["job_id"] == job_id
        assert {"time", "level", "logger", "message"} <= set(entry)
    messages = " | ".join(entry["message"] for entry in worker_lines)
    assert "claimed" in messages and "completed" in messages
    # From the worker's start, every line is JSON.
    for line in services.log_of(worker).splitlines():
        if line.strip():
            json.loads(line)


def test_api_metrics_follow_the_jobs(services_factory, clip_path):
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip_path, "quality")
    text = services.client.get("/metrics").text
    assert 'video_jobs_jobs{status="pending"} 1.0' in text
    assert "video_jobs_queue_depth 1.0" in text
    services.start_worker()
    services.wait_for(job_id)
    text = services.client.get("/metrics").text
    assert 'video_jobs_jobs{status="completed"} 1.0' in text
    assert 'video_jobs_jobs{status="pending"} 0.0' in text


@pytest.mark.skipif(
    not RUNNER_SERVES_METRICS,
    reason="app/workers/worker_runner.py does not call serve_worker_metrics(settings) yet",
)
def test_a_worker_process_serves_metrics_on_its_port(services_factory, clip_path):
    port = free_port()
    services = services_factory(worker_metrics_port=port)
    services.start_api()
    services.start_worker()
    job_id = services.submit(clip_path, "motion")
    assert services.wait_for(job_id)["status"] == "completed"
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'video_jobs_frames_processed_total{pipeline="motion"} 30.0' in text
    assert (
        'video_jobs_job_duration_seconds_count{outcome="completed",pipeline="motion"} 1.0' in text
    )
