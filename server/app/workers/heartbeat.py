"""A thread that proves a worker is alive while it holds a job."""

from __future__ import annotations

import logging
import threading

from app.domain.model import Job, utcnow
from app.domain.ports import JobRepository

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every `interval` seconds; `lost` turns true if the claim was taken away
    (a sweep decided this worker was dead), which tells the frame loop to stop."""

    def __init__(self, jobs: JobRepository, job: Job, interval: float) -> None:
        self.jobs = jobs
        self.job = job
        self.interval = interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.jobs.heartbeat(self.job.job_id, self.job.attempts, utcnow()):
                    log.warning("job %s: claim lost; stopping work on it", self.job.job_id)
                    self.lost.set()
                    return
            except Exception as exc:  # a database hiccup: keep trying until the lease ends
                log.warning("job %s: heartbeat failed: %s", self.job.job_id, exc)
