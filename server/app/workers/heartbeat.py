"""A thread that proves a worker is alive while it holds a job, and reports progress."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable

from app.domain.model import Job, Progress, utcnow
from app.domain.ports import JobRepository

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every `interval` seconds with the frames done so far.

    `lost` turns true when the claim is gone (the job was canceled, or a sweep decided
    this worker was dead), which tells the frame loop to stop. When no frame finishes for
    `stall_timeout` seconds the beat stops (`stalled`), so a hung decoder cannot keep a
    job `running` forever, and `on_stall` is called (from this thread: the frame loop's
    thread is the one that hangs) to get the process out of it. The frame loop only
    stores two integers per frame (`report`); all database writes happen here, at most
    once per interval, so progress costs the frame loop nothing measurable.
    """

    def __init__(
        self,
        jobs: JobRepository,
        job: Job,
        interval: float,
        stall_timeout: float = 300.0,
        on_stall: Callable[[], None] | None = None,
    ) -> None:
        self.jobs = jobs
        self.on_stall = on_stall
        self.job = job
        self.interval = interval
        self.stall_timeout = stall_timeout
        self.lost = threading.Event()
        self.stalled = threading.Event()
        self._frames_done = 0
        self._frames_total: int | None = None
        self._started = self._last_progress = time.monotonic()
        self._stop = threading.Event()
        # In a copy of the creator's context: its log lines carry the job's id.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._beat,), name="heartbeat", daemon=True
        )

    def report(self, frames_done: int, frames_total: int | None) -> None:
        self._frames_done = frames_done
        self._frames_total = frames_total
        self._last_progress = time.monotonic()

    def progress(self) -> Progress:
        done = self._frames_done
        elapsed = time.monotonic() - self._started
        fps = round(done / elapsed, 2) if done and elapsed > 0 else None
        return Progress(done, self._frames_total, fps)

    def __enter__(self) -> Heartbeat:
        self._started = self._last_progress = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            silent = time.monotonic() - self._last_progress
            if silent > self.stall_timeout:
                # A decoder hung inside OpenCV never returns to check `lost`; stop vouching
                # for it, so the sweep gives the job to another worker (or fails it).
                log.error(
                    "job %s: no frame finished for %.0fs; no longer heart-beating, so the "
                    "job is recovered elsewhere",
                    self.job.job_id,
                    silent,
                )
                self.stalled.set()
                if self.on_stall is not None:
                    self.on_stall()
                return
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
