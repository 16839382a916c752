"""The Job entity, its statuses and the one rule that says how a status may change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from app.domain.errors import InvalidTransition


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)

    @property
    def progress(self) -> float:
        """The Phase-16 coarse progress figure: 0.0 pending, 0.5 running, 1.0 finished."""
        return {JobStatus.PENDING: 0.0, JobStatus.RUNNING: 0.5}.get(self, 1.0)


# running -> pending is a release: a stopping worker hands the job back, or a sweep
# recovers the job of a worker that died.
ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PENDING}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


def check_transition(current: JobStatus, new: JobStatus) -> None:
    """Raise InvalidTransition unless the state machine allows current -> new."""
    if new not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(f"a {current.value} job cannot become {new.value}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> uuid.UUID:
    return uuid.uuid4()


def input_key(job_id: uuid.UUID) -> str:
    """Storage key of a job's uploaded video (relative to the storage root)."""
    return f"{job_id}.mp4"


def results_key(job_id: uuid.UUID) -> str:
    """Storage key of a job's results document."""
    return f"{job_id}_results.json"


@dataclass(frozen=True)
class Job:
    job_id: uuid.UUID
    pipeline_id: str
    input_path: str
    status: JobStatus = JobStatus.PENDING
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    output_path: str | None = None
    error_message: str | None = None
    attempts: int = 0
    heartbeat_at: datetime | None = None

    def transitioned(self, new: JobStatus, now: datetime | None = None, **changes) -> Job:
        """A copy in the new status; the only way a status changes in memory."""
        check_transition(self.status, new)
        return replace(self, status=new, updated_at=now or utcnow(), **changes)
