"""The dispatcher's lines per receiver, with the in-memory repository and a sender that
blocks for one host: a dead receiver holds its own line only."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from app.adapters.db.in_memory import InMemoryJobRepository
from app.api.webhook_dispatcher import WebhookDispatcher, destination_of
from app.domain.model import Job, JobStatus, utcnow
from app.domain.webhooks import WebhookSender
from app.settings import Settings

pytestmark = pytest.mark.unit


class BlockingSender(WebhookSender):
    """Hangs on `dead.example` until released; answers 204 at once for anyone else."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.dead_in_flight = 0
        self.dead_most = 0
        self.live: list[str] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if "dead.example" not in url:
            self.live.append(url)
            return 204
        with self.lock:
            self.dead_in_flight += 1
            self.dead_most = max(self.dead_most, self.dead_in_flight)
        self.release.wait(10)
        with self.lock:
            self.dead_in_flight -= 1
        return 204


def finished_job(jobs: InMemoryJobRepository, url: str) -> None:
    job = Job(uuid.uuid4(), "motion", "x.mp4", callback_url=url)
    jobs.add(job)
    assert jobs.transition(job.job_id, JobStatus.PENDING, JobStatus.CANCELED, now=utcnow())


def test_a_dead_receiver_holds_only_its_own_line() -> None:
    settings = Settings(_env_file=None, webhook_secret="s", webhook_per_destination=2)
    jobs, sender = InMemoryJobRepository(), BlockingSender()
    dispatcher = WebhookDispatcher(settings, jobs, sender)
    try:
        for _ in range(24):
            finished_job(jobs, "http://dead.example/hook")
        finished_job(jobs, "https://live.example/hook")
        assert dispatcher.dispatch_due() == 25
        deadline = time.monotonic() + 5
        while not sender.live and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sender.live == ["https://live.example/hook"]
        assert sender.dead_most == 2  # never more than the per-destination limit
        assert dispatcher.dispatch_due() == 0  # lined-up deliveries are not taken twice
    finally:
        sender.release.set()
        dispatcher.stop()


def test_destinations_are_scheme_host_and_port() -> None:
    assert destination_of("http://A.example/x") == destination_of("http://a.example:80/y")
    assert destination_of("https://a.example/") != destination_of("http://a.example/")
    assert destination_of("http://a.example:8080/") != destination_of("http://a.example/")
