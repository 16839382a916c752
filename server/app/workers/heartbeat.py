"""A thread that proves a worker is alive while it holds a job, and reports progress."""

from __future__ import annotations

import logging
import threading
import time

from app.domain.model import Job, Progress, utcnow
from app.domain.ports import JobRepository

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every `interval` seconds with the frames done so far.

    `lost` turns true when the claim is gone (the job was canceled, or a sweep decided
    this worker was dead), which tells the frame loop to stop. The frame loop only
    stores two integers per frame (`report`); all database writes happen here, at most
    once per interval, so progress costs the frame loop nothing measurable.
    """

    def __init__(self, jobs: JobRepository, job: Job, interval: float) -> None:
        self.jobs = jobs
        self.job = job
        self.interval = interval
        self.lost = threading.Event()
        self._frames_done = 0
        self._frames_total: int | None = None
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def report(self, frames_done: int, frames_total: int | None) -> None:
        self._frames_done = frames_done
        self._frames_total = frames_total

    def progress(self) -> Progress:
        done = self._frames_done
        elapsed = time.monotonic() - self._started
        fps = round(done / elapsed, 2) if done and elapsed > 0 else None
        return Progress(done, self._frames_total, fps)

    def __enter__(self) -> Heartbeat:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                alive = self.jobs.heartbeat(
                    self.job.job_id, self.job.attempts, utcnow(), self.progress()
                )
            except Exception as exc:  # a database hiccup: keep trying until the lease ends
                log.warning("job %s: heartbeat failed: %s", self.job.job_id, exc)
                continue
            if not alive:
                log.warning("job %s: claim lost (canceled or recovered); stopping", self.job.job_id)
                self.lost.set()
                return
