"""JobRepository over SQLAlchemy: every state change is one conditional UPDATE."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.db.engine import SQLITE_BUSY_TIMEOUT_MS
from app.adapters.db.orm import JobRow, WebhookDeliveryRow
from app.adapters.db.sqlalchemy_segments import (
    SqlAlchemySegments,
    count_in_parent,
    held_by_a_worker,
)
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

_JOB_FIELDS = [f.name for f in fields(Job) if f.name != "status"]
_DELIVERY_FIELDS = [f.name for f in fields(WebhookDelivery) if f.name != "state"]


def _to_job(row: JobRow) -> Job:
    return Job(status=JobStatus(row.status), **{name: getattr(row, name) for name in _JOB_FIELDS})


def _to_row(job: Job) -> JobRow:
    return JobRow(status=job.status.value, **{name: getattr(job, name) for name in _JOB_FIELDS})


def _to_delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    values = {name: getattr(row, name) for name in _DELIVERY_FIELDS}
    return WebhookDelivery(state=WebhookState(row.state), **values)


def _rowcount(session: Session, stmt: Executable, params: dict[str, Any] | None = None) -> int:
    """The rows a DML statement matched: `execute` is typed `Result`, but an UPDATE's
    result is a `CursorResult`, which has the count."""
    return cast("CursorResult[Any]", session.execute(stmt, params)).rowcount


def _updated_job(session: Session, job_id: uuid.UUID) -> Job:
    """The job row an UPDATE in this transaction just matched, read back."""
    row = session.get(JobRow, job_id, populate_existing=True)
    assert row is not None  # the UPDATE matched it, in this transaction
    return _to_job(row)


def _filtered(stmt, status: JobStatus | None, tag: str | None, segments: bool = False):
    """The listing's filters (status, exact tag: indexed by migration 0004); segments
    only when asked for."""
    if not segments:
        stmt = stmt.where(JobRow.parent_id.is_(None))
    if status is not None:
        stmt = stmt.where(JobRow.status == status.value)
    if tag is not None:
        stmt = stmt.where(JobRow.tag == tag)
    return stmt


def _progress_values(progress: Progress) -> dict:
    return {
        "frames_done": progress.frames_done,
        "frames_total": progress.frames_total,
        "processing_fps": progress.fps,
    }


HEALTH_WRITE_TIMEOUT_MS = 2_000


class SqlAlchemyJobRepository(SqlAlchemySegments, JobRepository):
    _to_job = staticmethod(_to_job)
    _to_row = staticmethod(_to_row)

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, job: Job) -> None:
        try:
            with self._sessions.begin() as session:
                session.add(_to_row(job))
        except IntegrityError as exc:
            if job.idempotency_key and self.find_by_idempotency_key(job.idempotency_key):
                raise DuplicateIdempotencyKey(job.idempotency_key) from exc
            raise

    def get(self, job_id: uuid.UUID) -> Job | None:
        with self._sessions() as session:
            row = session.get(JobRow, job_id)
            return _to_job(row) if row else None

    def find_by_idempotency_key(self, key: str) -> Job | None:
        with self._sessions() as session:
            row = session.scalars(select(JobRow).where(JobRow.idempotency_key == key)).first()
            return _to_job(row) if row else None

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
        values: dict = {"status": new.value, "updated_at": now}
        if new is JobStatus.RUNNING:
            values["heartbeat_at"] = now
        if output_path is not None:
            values["output_path"] = output_path
        if error_message is not None:
            values["error_message"] = error_message
        if attempts_delta:
            values["attempts"] = JobRow.attempts + attempts_delta
        if progress is not None:
            values.update(_progress_values(progress))
        if warnings is not None:
            values["warnings"] = list(warnings)
        stmt = update(JobRow).where(JobRow.job_id == job_id, JobRow.status == expected.value)
        if attempt is not None:
            stmt = stmt.where(JobRow.attempts == attempt)
        if heartbeat_before is not None:
            stmt = stmt.where(JobRow.heartbeat_at < heartbeat_before)
        with self._sessions.begin() as session:
            if _rowcount(session, stmt.values(**values)) != 1:
                return None
            job = _updated_job(session, job_id)
            if new is JobStatus.COMPLETED and job.parent_id is not None:
                count_in_parent(session, job.parent_id, now)
            if (payload := outbox_payload(job)) is not None:
                for body in [*(extra_events or []), payload]:
                    session.add(
                        WebhookDeliveryRow(
                            job_id=job_id,
                            url=job.callback_url,
                            payload=body,
                            state=WebhookState.PENDING.value,
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
            return job

    def heartbeat(
        self, job_id: uuid.UUID, attempt: int, now: datetime, progress: Progress | None = None
    ) -> bool:
        values: dict = {"heartbeat_at": now}
        if progress is not None:
            values.update(_progress_values(progress))
        stmt = (
            update(JobRow)
            .where(
                JobRow.job_id == job_id,
                JobRow.status == JobStatus.RUNNING.value,
                JobRow.attempts == attempt,
            )
            .values(**values)
        )
        with self._sessions.begin() as session:
            return _rowcount(session, stmt) == 1

    def list_ids(
        self, status: JobStatus, *, updated_before: datetime | None = None, limit: int = 1000
    ) -> list[uuid.UUID]:
        stmt = select(JobRow.job_id).where(JobRow.status == status.value)
        if updated_before is not None:
            stmt = stmt.where(JobRow.updated_at <= updated_before)
        stmt = stmt.order_by(JobRow.created_at).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(stmt))

    def stale_running(self, heartbeat_before: datetime, limit: int = 1000) -> list[Job]:
        stmt = (
            select(JobRow)
            .where(
                JobRow.status == JobStatus.RUNNING.value,
                JobRow.heartbeat_at < heartbeat_before,
                held_by_a_worker(),
            )
            .order_by(JobRow.created_at)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_to_job(row) for row in session.scalars(stmt)]

    def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
        include_segments: bool = False,
    ) -> list[Job]:
        stmt = _filtered(select(JobRow), status, tag, include_segments)
        stmt = stmt.order_by(JobRow.created_at.desc(), JobRow.job_id).limit(limit).offset(offset)
        with self._sessions() as session:
            return [_to_job(row) for row in session.scalars(stmt)]

    def count_jobs(
        self,
        *,
        status: JobStatus | None = None,
        tag: str | None = None,
        include_segments: bool = False,
    ) -> int:
        stmt = _filtered(select(func.count()).select_from(JobRow), status, tag, include_segments)
        with self._sessions() as session:
            return int(session.scalar(stmt) or 0)

    def count_by_status(self) -> dict[JobStatus, int]:
        stmt = select(JobRow.status, func.count()).group_by(JobRow.status)
        with self._sessions() as session:
            counts = {JobStatus(status): n for status, n in session.execute(stmt)}
        return {status: counts.get(status, 0) for status in JobStatus}

    def finished_with_files(self, updated_before: datetime, limit: int = 500) -> list[Job]:
        finished = [s.value for s in JobStatus if s.is_finished]
        stmt = (
            select(JobRow)
            .where(
                JobRow.status.in_(finished),
                JobRow.updated_at < updated_before,
                JobRow.files_deleted_at.is_(None),
            )
            .order_by(JobRow.updated_at)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_to_job(row) for row in session.scalars(stmt)]

    def mark_files_deleted(self, job_id: uuid.UUID, now: datetime) -> Job | None:
        finished = [s.value for s in JobStatus if s.is_finished]
        stmt = (
            update(JobRow)
            .where(JobRow.job_id == job_id, JobRow.status.in_(finished))
            .values(files_deleted_at=func.coalesce(JobRow.files_deleted_at, now))
        )
        with self._sessions.begin() as session:
            if _rowcount(session, stmt) != 1:
                return None
            return _updated_job(session, job_id)

    def clear_idempotency_keys(self, created_before: datetime) -> int:
        stmt = (
            update(JobRow)
            .where(JobRow.idempotency_key.is_not(None), JobRow.created_at < created_before)
            .values(idempotency_key=None)
        )
        with self._sessions.begin() as session:
            return _rowcount(session, stmt)

    def due_webhooks(
        self, now: datetime, lease_until: datetime, limit: int = 50
    ) -> list[WebhookDelivery]:
        stmt = (
            select(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.state == WebhookState.PENDING.value,
                WebhookDeliveryRow.next_attempt_at <= now,
            )
            .order_by(WebhookDeliveryRow.next_attempt_at)
            .limit(limit)
        )
        leased = []
        with self._sessions.begin() as session:
            for row in session.scalars(stmt).all():
                lease = (
                    update(WebhookDeliveryRow)
                    .where(
                        WebhookDeliveryRow.id == row.id,
                        WebhookDeliveryRow.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=lease_until)
                )
                if _rowcount(session, lease) == 1:
                    leased.append(_to_delivery(row))
        return leased

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
        values = {
            "state": state.value,
            "attempts": WebhookDeliveryRow.attempts + 1,
            "last_status_code": status_code,
            "last_error": error,
            "next_attempt_at": retry_at or now,
            "delivered_at": now if delivered else None,
        }
        stmt = update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        with self._sessions.begin() as session:
            session.execute(stmt.values(**values))

    def webhook_deliveries(self, job_id: uuid.UUID) -> list[WebhookDelivery]:
        stmt = (
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.job_id == job_id)
            .order_by(WebhookDeliveryRow.id)
        )
        with self._sessions() as session:
            return [_to_delivery(row) for row in session.scalars(stmt)]

    def ping(self) -> None:
        with self._sessions() as session:
            session.execute(text("SELECT 1"))

    def check_writable(self, now: datetime) -> None:
        """Upsert the one row of `health_checks` (migration 0005): a real committed write."""
        stamp = {"checked_at": now.isoformat()}
        update_row = text("UPDATE health_checks SET checked_at = :checked_at WHERE id = 1")
        insert_row = text("INSERT INTO health_checks (id, checked_at) VALUES (1, :checked_at)")
        with self._sessions() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if sqlite:  # a locked database answers /health in seconds, not the busy timeout
                session.execute(text(f"PRAGMA busy_timeout={HEALTH_WRITE_TIMEOUT_MS}"))
            try:
                if _rowcount(session, update_row, stamp) == 0:
                    session.execute(insert_row, stamp)
            finally:  # same connection: the session holds it until commit or close
                if sqlite:
                    session.execute(text(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"))
            session.commit()
