"""The Job entity, its statuses and the one rule that says how a status may change."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.domain.errors import InvalidTransition
from app.domain.exports import EXPORTS


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)

    @property
    def progress(self) -> float:
        """The Phase-16 coarse progress figure: 0.0 pending, 0.5 running, 1.0 finished."""
        return {JobStatus.PENDING: 0.0, JobStatus.RUNNING: 0.5}.get(self, 1.0)


# running -> pending is a release: a stopping worker hands the job back, or a sweep
# recovers the job of a worker that died. canceled is what DELETE does to a live job.
ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PENDING, JobStatus.CANCELED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELED: frozenset(),
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


def write_owner(part_name: str) -> uuid.UUID | None:
    """The job a temporary write belongs to, from its name: every key of a job starts
    with the job id, and a write in progress is named `.<key>.<random>.part`. None for
    writes no job owns (an upload still arriving)."""
    try:
        return uuid.UUID(part_name[1:37])
    except ValueError:
        return None


def results_key(job_id: uuid.UUID) -> str:
    """Storage key of a job's results document."""
    return f"{job_id}_results.json"


def results_lines_key(job_id: uuid.UUID) -> str:
    """One JSON frame result per line: lets a page be read without parsing the rest."""
    return f"{job_id}_results.jsonl"


def results_index_key(job_id: uuid.UUID) -> str:
    """Byte offset of each line of the .jsonl file, as little-endian uint64s."""
    return f"{job_id}_results.idx"


def summary_key(job_id: uuid.UUID) -> str:
    """Shots, per-label totals and tracks, written by the worker when the job completes."""
    return f"{job_id}_summary.json"


def shot_keyframe_key(job_id: uuid.UUID, index: int) -> str:
    """The JPEG keyframe of shot `index` (from 0), written by the worker as the shot ends."""
    return f"{job_id}_shot{int(index)}.jpg"


def export_keys(job_id: uuid.UUID) -> list[str]:
    """Files the export sinks write beside the results: the summary and every export."""
    return [summary_key(job_id), *(export.key(job_id) for export in EXPORTS)]


def job_file_keys(job_id: uuid.UUID) -> list[str]:
    return [
        input_key(job_id),
        results_key(job_id),
        results_lines_key(job_id),
        results_index_key(job_id),
        *export_keys(job_id),
    ]


class SplitState(StrEnum):
    """Where a split parent is (its status stays `running` meanwhile): its segments are
    being analysed; all completed and the merge waits for a worker; a worker merges
    (its lease is the parent's heartbeat, fenced by the parent's attempts)."""

    SEGMENTS = "segments"
    MERGE = "merge"
    MERGING = "merging"


class WebhookState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"

    @classmethod
    def after_attempt(cls, delivered: bool, retry_at: datetime | None) -> WebhookState:
        """Delivered; or pending again when a retry is scheduled; else given up."""
        if delivered:
            return cls.DELIVERED
        return cls.PENDING if retry_at is not None else cls.FAILED


@dataclass(frozen=True)
class WebhookDelivery:
    """One event to POST to a job's callback_url, with its delivery record."""

    id: int
    job_id: uuid.UUID
    url: str
    payload: str
    state: WebhookState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


def outbox_payload(job: Job) -> str | None:
    """The webhook body to record with this (already applied) status change, if any:
    only a finished job that has a callback_url notifies."""
    if not (job.status.is_finished and job.callback_url):
        return None
    return json.dumps(webhook_event(job))


def webhook_event(job: Job) -> dict:
    """The JSON body POSTed when a job with a callback_url finishes."""
    return {
        "event": f"job.{job.status.value}",
        "job_id": str(job.job_id),
        "status": job.status.value,
        "pipeline_id": job.pipeline_id,
        "error_message": job.error_message,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


@dataclass(frozen=True)
class Progress:
    """What a worker reports while the frame loop runs (at most ~twice a second)."""

    frames_done: int
    frames_total: int | None
    fps: float | None


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
    # Progress, control and retention (migration 0003): the contract's columns stay as
    # they were, so these are additions only.
    frames_done: int = 0
    frames_total: int | None = None
    processing_fps: float | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None
    input_sha256: str | None = None
    files_deleted_at: datetime | None = None
    # Added by migration 0004: what the job was asked for, and what went wrong quietly.
    options: dict[str, Any] | None = None
    tag: str | None = None
    filename: str | None = None
    warnings: list[str] | None = None
    # Added by migration 0007: one long video analysed as segments (domain/segments.py).
    # A segment row names its parent and its place; a parent counts its segments done
    # and says where its split is (SplitState).
    parent_id: uuid.UUID | None = None
    segment_index: int | None = None
    segments_total: int | None = None
    segments_completed: int = 0
    split_state: str | None = None

    @property
    def is_segment(self) -> bool:
        return self.parent_id is not None

    @property
    def source_id(self) -> uuid.UUID:
        """The job whose upload this job reads: a segment reads its parent's."""
        return self.parent_id or self.job_id

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate; None unless running with a known total."""
        if self.status is not JobStatus.RUNNING or not self.processing_fps:
            return None
        if self.frames_total is None:
            return None
        return round(max(self.frames_total - self.frames_done, 0) / self.processing_fps, 2)

    def transitioned(self, new: JobStatus, now: datetime | None = None, **changes) -> Job:
        """A copy in the new status; the only way a status changes in memory."""
        check_transition(self.status, new)
        return replace(self, status=new, updated_at=now or utcnow(), **changes)
