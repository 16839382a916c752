"""An in-memory JobRepository for unit tests; it passes the same contract suite as SQL."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import datetime

from app.adapters.db.in_memory_segments import UNHELD, InMemorySegments
from app.domain.errors import DuplicateIdempotencyKey
from app.domain.model import (
    Job,
    JobStatus,
    Progress,
    WebhookDelivery,
    WebhookState,
    check_transition,
    outbox_payload,
)
from app.domain.ports import JobRepository


def _with_progress(job: Job, progress: Progress | None) -> Job:
    if progress is None:
        return job
    return replace(
        job,
        frames_done=progress.frames_done,
        frames_total=progress.frames_total,
        processing_fps=progress.fps,
    )


class InMemoryJobRepository(InMemorySegments, JobRepository):
    def __init__(self) -> None:
        self._jobs: dict[uuid.UUID, Job] = {}
        self._deliveries: dict[int, WebhookDelivery] = {}
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            if job.job_id in self._jobs:
                raise ValueError(f"job {job.job_id} already exists")
            key = job.idempotency_key
            if key and any(j.idempotency_key == key for j in self._jobs.values()):
                raise DuplicateIdempotencyKey(key)
            self._jobs[job.job_id] = job

    def get(self, job_id: uuid.UUID) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def find_by_idempotency_key(self, key: str) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.idempotency_key == key), None)

    def transition(
        self,
        job_id: uuid.UUID,
        expected: JobStatus,
        new: JobStatus,
        *,
        now: datetime,
        attempt: int | None = None,
        heartbeat_before: datetime | None = None,
        output_path: str | None = None,
        error_message: str | None = None,
        attempts_delta: int = 0,
        progress: Progress | None = None,
        warnings: list[str] | None = None,
        extra_events: list[str] | None = None,
    ) -> Job | None:
        check_transition(expected, new)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status is not expected:
                return None
            if attempt is not None and job.attempts != attempt:
                return None
            if heartbeat_before is not None and not (
                job.heartbeat_at is not None and job.heartbeat_at < heartbeat_before
            ):
                return None
            job = replace(
                job,
                status=new,
                updated_at=now,
                attempts=job.attempts + attempts_delta,
                heartbeat_at=now if new is JobStatus.RUNNING else job.heartbeat_at,
                output_path=output_path if output_path is not None else job.output_path,
                error_message=error_message if error_message is not None else job.error_message,
                warnings=list(warnings) if warnings is not None else job.warnings,
            )
            job = _with_progress(job, progress)
            self._jobs[job_id] = job
            if new is JobStatus.COMPLETED and job.parent_id is not None:
                self._count_in_parent(job, now)
            if (payload := outbox_payload(job)) is not None:
                assert job.callback_url is not None  # a payload means a callback_url
                for body in [*(extra_events or []), payload]:
                    delivery_id = len(self._deliveries) + 1
                    self._deliveries[delivery_id] = WebhookDelivery(
                        id=delivery_id,
                        job_id=job_id,
                        url=job.callback_url,
                        payload=body,
                        state=WebhookState.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
            return job

    def heartbeat(
        self, job_id: uuid.UUID, attempt: int, now: datetime, progress: Progress | None = None
    ) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status is not JobStatus.RUNNING or job.attempts != attempt:
                return False
            self._jobs[job_id] = _with_progress(replace(job, heartbeat_at=now), progress)
            return True

    def _sorted(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at)

    def list_ids(
        self, status: JobStatus, *, updated_before: datetime | None = None, limit: int = 1000
    ) -> list[uuid.UUID]:
        return [
            j.job_id
            for j in self._sorted()
            if j.status is status and (updated_before is None or j.updated_at <= updated_before)
        ][:limit]

    def stale_running(self, heartbeat_before: datetime, limit: int = 1000) -> list[Job]:
        return [
            j
            for j in self._sorted()
            if j.status is JobStatus.RUNNING
            and j.heartbeat_at is not None
            and j.heartbeat_at < heartbeat_before
            and j.split_state not in UNHELD
        ][:limit]

    def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
        include_segments: bool = False,
    ) -> list[Job]:
        jobs = self._matching(status, tag, include_segments)
        jobs.sort(key=lambda j: (-j.created_at.timestamp(), str(j.job_id)))
        return jobs[offset : offset + limit]

    def count_jobs(
        self,
        *,
        status: JobStatus | None = None,
        tag: str | None = None,
        include_segments: bool = False,
    ) -> int:
        return len(self._matching(status, tag, include_segments))

    def _matching(self, status: JobStatus | None, tag: str | None, segments: bool) -> list[Job]:
        with self._lock:
            return [
                j
                for j in self._jobs.values()
                if (status is None or j.status is status)
                and (tag is None or j.tag == tag)
                and (segments or j.parent_id is None)
            ]

    def count_by_status(self) -> dict[JobStatus, int]:
        with self._lock:
            statuses = [j.status for j in self._jobs.values()]
        return {status: statuses.count(status) for status in JobStatus}

    def finished_with_files(self, updated_before: datetime, limit: int = 500) -> list[Job]:
        jobs = [
            j
            for j in self._sorted()
            if j.status.is_finished and j.updated_at < updated_before and not j.files_deleted_at
        ]
        return sorted(jobs, key=lambda j: j.updated_at)[:limit]

    def mark_files_deleted(self, job_id: uuid.UUID, now: datetime) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.status.is_finished:
                return None
            job = replace(job, files_deleted_at=job.files_deleted_at or now)
            self._jobs[job_id] = job
            return job

    def clear_idempotency_keys(self, created_before: datetime) -> int:
        with self._lock:
            old = [
                j
                for j in self._jobs.values()
                if j.idempotency_key and j.created_at < created_before
            ]
            for job in old:
                self._jobs[job.job_id] = replace(job, idempotency_key=None)
            return len(old)

    def due_webhooks(
        self, now: datetime, lease_until: datetime, limit: int = 50
    ) -> list[WebhookDelivery]:
        with self._lock:
            due = sorted(
                (
                    d
                    for d in self._deliveries.values()
                    if d.state is WebhookState.PENDING and d.next_attempt_at <= now
                ),
                key=lambda d: d.next_attempt_at,
            )[:limit]
            for delivery in due:
                self._deliveries[delivery.id] = replace(delivery, next_attempt_at=lease_until)
            return due

    def record_webhook_attempt(
        self,
        delivery_id: int,
        now: datetime,
        *,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> None:
        state = WebhookState.after_attempt(delivered, retry_at)
        with self._lock:
            delivery = self._deliveries[delivery_id]
            self._deliveries[delivery_id] = replace(
                delivery,
                state=state,
                attempts=delivery.attempts + 1,
                last_status_code=status_code,
                last_error=error,
                next_attempt_at=retry_at or now,
                delivered_at=now if delivered else None,
            )

    def webhook_deliveries(self, job_id: uuid.UUID) -> list[WebhookDelivery]:
        with self._lock:
            return [d for _, d in sorted(self._deliveries.items()) if d.job_id == job_id]

    def ping(self) -> None:
        return None

    def check_writable(self, now: datetime) -> None:
        self.last_health_write = now
