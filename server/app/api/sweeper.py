"""The API's recovery loop: the database is the truth, the queue only a notification.

At start and every `sweep_interval_s` it re-enqueues pending jobs that are not in the
queue (lost by an API restart, a failed enqueue, or a worker that died holding an id)
and recovers running jobs whose worker stopped beating.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from app.domain.control import (
    forget_idempotency_keys,
    purge_expired_files,
    remove_abandoned_writes,
    remove_orphan_uploads,
)
from app.domain.ports import JobRepository, QueueService, SearchIndex, StorageService
from app.domain.recovery import recover_stale_jobs, requeue_pending
from app.settings import Settings

log = logging.getLogger(__name__)
# An upload is renamed into place a moment before its row is inserted; give it slack.
ORPHAN_UPLOAD_AGE = timedelta(minutes=10)


class Sweeper:
    def __init__(
        self,
        settings: Settings,
        jobs: JobRepository,
        queue: QueueService,
        storage: StorageService,
        search: SearchIndex | None = None,
    ) -> None:
        self.settings = settings
        self.search = search
        self.jobs = jobs
        self.queue = queue
        self.storage = storage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sweeper", daemon=True)

    def sweep(self, *, requeue_after: timedelta | None = None) -> None:
        """One pass; errors are logged so the loop survives a database hiccup."""
        try:
            recover_stale_jobs(
                self.jobs,
                self.queue,
                lease=timedelta(seconds=self.settings.lease_s),
                max_attempts=self.settings.max_attempts,
            )
            self.queue.recover_orphans()
            if requeue_after is None:
                requeue_after = timedelta(seconds=self.settings.requeue_after_s)
            requeue_pending(self.jobs, self.queue, older_than=requeue_after)
            self.expire()
        except Exception:
            log.exception("sweep failed; will try again in %.0fs", self.settings.sweep_interval_s)

    def expire(self) -> None:
        """Retention: files of old finished jobs, and idempotency keys past their TTL."""
        if self.settings.retention_hours is not None:
            purged = purge_expired_files(
                self.jobs,
                self.storage,
                older_than=timedelta(hours=self.settings.retention_hours),
                search=self.search,
            )
            if purged:
                log.info("retention: deleted the files of %d finished job(s)", purged)
        forget_idempotency_keys(
            self.jobs, older_than=timedelta(hours=self.settings.idempotency_ttl_hours)
        )
        removed = remove_abandoned_writes(
            self.jobs,
            self.storage,
            idle_after=timedelta(seconds=self.settings.abandoned_write_age_s),
            lease=timedelta(seconds=self.settings.lease_s),
        )
        if removed:
            log.info("removed %d unfinished upload/results file(s) of killed processes", removed)

    def start(self) -> Sweeper:
        self.sweep(requeue_after=timedelta(0))  # the queue is new: every pending job goes in
        try:  # once per start: a crash is what leaves such files, and a restart follows it
            remove_orphan_uploads(self.jobs, self.storage, older_than=ORPHAN_UPLOAD_AGE)
        except Exception:
            log.exception("could not look for orphaned uploads")
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval_s):
            self.sweep()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
