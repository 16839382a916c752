"""An in-memory JobRepository for unit tests; it passes the same contract suite as SQL."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import datetime

from app.domain.model import Job, JobStatus, check_transition
from app.domain.ports import JobRepository


class InMemoryJobRepository(JobRepository):
    def __init__(self) -> None:
        self._jobs: dict[uuid.UUID, Job] = {}
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            if job.job_id in self._jobs:
                raise ValueError(f"job {job.job_id} already exists")
            self._jobs[job.job_id] = job

    def get(self, job_id: uuid.UUID) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

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
            )
            self._jobs[job_id] = job
            return job

    def heartbeat(self, job_id: uuid.UUID, attempt: int, now: datetime) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status is not JobStatus.RUNNING or job.attempts != attempt:
                return False
            self._jobs[job_id] = replace(job, heartbeat_at=now)
            return True

    def list_ids(
        self, status: JobStatus, *, updated_before: datetime | None = None, limit: int = 1000
    ) -> list[uuid.UUID]:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created_at)
        return [
            j.job_id
            for j in jobs
            if j.status is status and (updated_before is None or j.updated_at <= updated_before)
        ][:limit]

    def stale_running(self, heartbeat_before: datetime, limit: int = 1000) -> list[Job]:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created_at)
        return [
            j
            for j in jobs
            if j.status is JobStatus.RUNNING
            and j.heartbeat_at is not None
            and j.heartbeat_at < heartbeat_before
        ][:limit]

    def list_jobs(
        self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[Job]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if status is None or j.status is status]
        jobs.sort(key=lambda j: (-j.created_at.timestamp(), str(j.job_id)))
        return jobs[offset : offset + limit]

    def count_by_status(self) -> dict[JobStatus, int]:
        with self._lock:
            statuses = [j.status for j in self._jobs.values()]
        return {status: statuses.count(status) for status in JobStatus}

    def ping(self) -> None:
        return None
