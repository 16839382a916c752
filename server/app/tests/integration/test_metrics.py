"""/metrics of the real app over HTTP, and a worker's own metrics endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.api.main import create_app
from app.settings import Settings
from app.testing.processes import free_port
from app.tests.helpers import app_state
from app.workers.metrics import serve_worker_metrics, stop_serving_worker_metrics
from app.workers.worker import Worker

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings.api_key = "k"  # /metrics must not need it
    with TestClient(create_app(settings), headers={"X-API-Key": "k"}) as test_client:
        yield test_client


def scrape(text: str) -> dict[tuple[str, tuple], float]:
    """Parse the exposition format strictly (a malformed page raises)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def submit(client: TestClient, clip: Path) -> str:
    with clip.open("rb") as handle:
        files = {"file": ("clip.mp4", handle, "video/mp4")}
        response = client.post("/video/submit", files=files)
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def test_metrics_count_jobs_by_status_and_the_queue(client, clip_path):
    for _ in range(3):
        submit(client, clip_path)
    state = app_state(client)
    worker = Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)
    assert worker.run_once(wait=10)

    response = client.get("/metrics", headers={"X-API-Key": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = scrape(response.text)
    assert samples[("video_jobs_jobs", (("status", "pending"),))] == 2
    assert samples[("video_jobs_jobs", (("status", "completed"),))] == 1
    assert samples[("video_jobs_jobs", (("status", "failed"),))] == 0
    assert samples[("video_jobs_queue_depth", ())] == 2
    assert samples[("video_jobs_scrape_ok", (("source", "database"),))] == 1


def test_metrics_are_not_in_the_openapi_schema_nor_under_v1(client):
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    assert client.get("/v1/metrics").status_code == 404


def test_a_worker_serves_its_duration_and_frame_metrics(settings: Settings, clip_path):
    settings.worker_metrics_port = free_port()
    with TestClient(create_app(settings)) as client:
        submit(client, clip_path)
        state = app_state(client)
        worker = Worker(
            jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner
        )
        port = serve_worker_metrics(settings)
        try:
            assert port == settings.worker_metrics_port
            assert serve_worker_metrics(settings) == port  # a second call changes nothing
            url = f"http://127.0.0.1:{port}/metrics"
            before = scrape(httpx.get(url).text)
            assert worker.run_once(wait=10)
            after = scrape(httpx.get(url).text)
        finally:
            stop_serving_worker_metrics()
    frames = ("video_jobs_frames_processed_total", (("pipeline", "motion"),))
    assert after[frames] - before.get(frames, 0) == 30
    count = (
        "video_jobs_job_duration_seconds_count",
        (("outcome", "completed"), ("pipeline", "motion")),
    )
    assert after[count] - before.get(count, 0) == 1
    assert ("process_cpu_seconds_total", ()) in after
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_worker_metrics_are_off_by_default_and_a_taken_port_is_not_fatal(settings: Settings):
    assert settings.worker_metrics_port is None
    assert serve_worker_metrics(settings) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.worker_metrics_port = taken.getsockname()[1]
        assert serve_worker_metrics(settings) is None
