"""The worker loop, readable top to bottom: take an id, claim, execute, record.

Signals are handled in one place (`install_signal_handlers`): the first SIGTERM/SIGINT
asks the loop to stop (the current job is released back to pending and re-enqueued);
a second one stops at once, still releasing the job on the way out.

A decoder that hangs inside native code never comes back to the loop, and no signal
handler runs while it hangs. When no frame finishes for `stall_timeout` seconds the
heartbeat stops vouching for the job (so the API's sweep recovers it: another attempt,
or `failed` after MAX_ATTEMPTS) and calls `on_stall`, which the entry point sets to
replace this process with a fresh worker (worker_runner.py).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable

from app.domain.errors import PipelineInterrupted, QueueUnavailable
from app.domain.frames import FrameLimits
from app.domain.job_runs import SinkFactory, release_job, run_claimed_job
from app.domain.log_context import job_context
from app.domain.model import Job, JobStatus, utcnow
from app.domain.ports import JobRepository, PipelineRunner, QueueService, StorageService
from app.domain.search import JobIndexer
from app.domain.segment_runs import (
    cancel_claimed_segment,
    parent_finished,
    run_merge,
    segment_ended,
    split_claimed,
)
from app.domain.segments import KeyframeIndex, SplitPolicy
from app.domain.services import claim_job, notify_workers
from app.domain.track_facts import ConfirmationRule
from app.workers.heartbeat import Heartbeat
from app.workers.metrics import worker_metrics

log = logging.getLogger(__name__)


class ImmediateShutdown(SystemExit):
    """Raised by the second signal; unwinds through `finally` blocks."""


class Worker:
    def __init__(
        self,
        *,
        jobs: JobRepository,
        queue: QueueService,
        storage: StorageService,
        runner: PipelineRunner,
        heartbeat_interval: float = 5.0,
        stall_timeout: float = 300.0,
        poll_timeout: float = 1.0,
        max_backoff: float = 5.0,
        limits: FrameLimits | None = None,
        export_sinks: SinkFactory | None = None,
        on_stall: Callable[[], None] | None = None,
        confirmation: ConfirmationRule | None = None,
        indexer: JobIndexer | None = None,
        max_zone_events: int = 10_000,
        keyframes: KeyframeIndex | None = None,
        split: SplitPolicy | None = None,
    ) -> None:
        self.jobs = jobs
        self.queue = queue
        self.storage = storage
        self.runner = runner
        self.heartbeat_interval = heartbeat_interval
        self.stall_timeout = stall_timeout
        self.poll_timeout = poll_timeout
        self.max_backoff = max_backoff
        self.limits = limits
        self.export_sinks = export_sinks
        self.confirmation = confirmation
        self.on_stall = on_stall
        self.indexer = indexer
        self.max_zone_events = max_zone_events
        # Splitting needs the keyframe index; without it every job runs whole.
        self.keyframes = keyframes
        self.split = split or SplitPolicy()
        self.name = f"worker-{os.getpid()}"
        self.stop_requested = threading.Event()
        self._backoff = 0.0

    # -- the loop ---------------------------------------------------------------
    def run_forever(self) -> int:
        self.install_signal_handlers()
        log.info("%s started", self.name)
        try:
            while not self.stop_requested.is_set():
                job_id = self.take_job_id(self.poll_timeout)
                if job_id is not None:
                    self.process_safely(job_id)
        finally:
            self.queue.close()
            log.info("%s stopped", self.name)
        return 0

    def run_once(self, wait: float = 30.0) -> bool:
        """Process one job if one arrives within `wait` seconds; True if one ran."""
        deadline = time.monotonic() + wait
        while not self.stop_requested.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            job_id = self.take_job_id(min(remaining, self.poll_timeout))
            if job_id is not None and self.process_safely(job_id) is not None:
                return True
        return False

    # -- the steps --------------------------------------------------------------
    def take_job_id(self, timeout: float) -> uuid.UUID | None:
        """Wait for an id; when the API is away, back off and try again later."""
        try:
            job_id = self.queue.get(timeout)
        except QueueUnavailable as exc:
            self._backoff = min(self.max_backoff, max(0.1, self._backoff * 2))
            log.warning("%s: %s; retrying in %.1fs", self.name, exc, self._backoff)
            self.stop_requested.wait(self._backoff)
            return None
        if self._backoff:
            log.info("%s: queue reachable again", self.name)
            self._backoff = 0.0
        return job_id

    def process_safely(self, job_id: uuid.UUID) -> JobStatus | None:
        """`process`, but an infrastructure error (the database went away) costs one
        pause, not the worker: the job stays recoverable by the sweeps."""
        try:
            return self.process(job_id)
        except Exception:
            log.exception("job %s: could not be processed; pausing before the next", job_id)
            self.stop_requested.wait(self.max_backoff)
            return None

    def process(self, job_id: uuid.UUID) -> JobStatus | None:
        """Claim and run one job; None when it was not ours to run (already claimed,
        finished, or a duplicate id from a sweep). Every line logged meanwhile, in this
        thread or the job's, carries the job's id."""
        with job_context(job_id):
            return self._claim_and_run(job_id)

    def _claim_and_run(self, job_id: uuid.UUID) -> JobStatus | None:
        merge: Job | None = None
        try:
            job = claim_job(self.jobs, job_id)
            if job is None:  # a split parent whose segments are all done: its merge
                merge = self.jobs.claim_merge(job_id, utcnow())
        finally:
            self.queue.ack(job_id)  # the database decides from here on
        if merge is not None:
            return self._merge(merge)
        if job is None:
            log.debug("job %s: not pending any more; skipping", job_id)
            return None
        log.info("job %s: claimed by %s (attempt %d)", job_id, self.name, job.attempts)
        if job.is_segment and parent_finished(self.jobs, job):
            return cancel_claimed_segment(self.jobs, job)
        if self._split(job):
            return JobStatus.RUNNING
        status = self._run(job)
        if job.is_segment:
            segment_ended(self.jobs, self.queue, job, status)
        return status

    def _split(self, job: Job) -> bool:
        """Fan a long video out into segments (True), under the job's heartbeat: reading
        the keyframe index opens the upload, which can hang like a decode (a stalled
        read restarts the worker and the sweep recovers the job)."""
        if self.keyframes is None:
            return False
        with Heartbeat(self.jobs, job, self.heartbeat_interval, self.stall_timeout, self.on_stall):
            return split_claimed(
                job,
                jobs=self.jobs,
                queue=self.queue,
                storage=self.storage,
                keyframes=self.keyframes,
                policy=self.split,
            )

    def _run(self, job: Job) -> JobStatus:
        """Run a claimed job (or segment: no search index, no webhooks) under its
        heartbeat; a stop or any escape releases it."""
        try:
            with (
                Heartbeat(
                    self.jobs, job, self.heartbeat_interval, self.stall_timeout, self.on_stall
                ) as heartbeat,
                worker_metrics().observe(job, self.runner) as run,
            ):
                run.status = run_claimed_job(
                    job,
                    jobs=self.jobs,
                    storage=self.storage,
                    runner=run.runner,
                    limits=self.limits,
                    export_sinks=self.export_sinks,
                    confirmation=self.confirmation,
                    indexer=None if job.is_segment else self.indexer,
                    max_zone_events=self.max_zone_events,
                    should_stop=lambda: self.stop_requested.is_set() or heartbeat.lost.is_set(),
                    on_progress=heartbeat.report,
                )
                return run.status
        except PipelineInterrupted:
            release_job(self.jobs, self.queue, job)
            return JobStatus.PENDING
        except BaseException:  # a second signal, or a bug: never leave the job running
            release_job(self.jobs, self.queue, job)
            raise

    def _merge(self, parent: Job) -> JobStatus:
        """Merge a split job's segments under the parent's heartbeat (its lease). The
        merge reports no frames, so only MAX_JOB_S bounds its silence."""
        log.info(
            "job %s: merge claimed by %s (attempt %d)", parent.job_id, self.name, parent.attempts
        )
        stall = max(self.stall_timeout, self.limits.max_job_s if self.limits else 0.0)
        try:
            with Heartbeat(self.jobs, parent, self.heartbeat_interval, stall, self.on_stall):
                return run_merge(
                    parent,
                    jobs=self.jobs,
                    storage=self.storage,
                    export_sinks=self.export_sinks,
                    confirmation=self.confirmation,
                    indexer=self.indexer,
                    overlap_s=self.split.overlap_s,
                    max_zone_events=self.max_zone_events,
                )
        except BaseException:  # a second signal, or a bug: hand the merge back
            if self.jobs.release_merge(parent.job_id, utcnow(), attempt=parent.attempts):
                notify_workers(self.queue, parent.job_id)
            raise

    # -- signals ----------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        if self.stop_requested.is_set():
            log.warning("%s: second %s; stopping now", self.name, name)
            raise ImmediateShutdown(0)
        log.info("%s: %s received; releasing the current job and stopping", self.name, name)
        self.stop_requested.set()
