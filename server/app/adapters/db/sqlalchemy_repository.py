"""JobRepository over SQLAlchemy: every state change is one conditional UPDATE."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.db.orm import JobRow
from app.domain.model import Job, JobStatus, check_transition
from app.domain.ports import JobRepository


def _to_job(row: JobRow) -> Job:
    return Job(
        job_id=row.job_id,
        status=JobStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        pipeline_id=row.pipeline_id,
        input_path=row.input_path,
        output_path=row.output_path,
        error_message=row.error_message,
        attempts=row.attempts,
        heartbeat_at=row.heartbeat_at,
    )


class SqlAlchemyJobRepository(JobRepository):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, job: Job) -> None:
        with self._sessions.begin() as session:
            session.add(
                JobRow(
                    job_id=job.job_id,
                    status=job.status.value,
                    created_at=job.created_at,
                    updated_at=job.updated_at,
                    pipeline_id=job.pipeline_id,
                    input_path=job.input_path,
                    output_path=job.output_path,
                    error_message=job.error_message,
                    attempts=job.attempts,
                    heartbeat_at=job.heartbeat_at,
                )
            )

    def get(self, job_id: uuid.UUID) -> Job | None:
        with self._sessions() as session:
            row = session.get(JobRow, job_id)
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
        stmt = update(JobRow).where(JobRow.job_id == job_id, JobRow.status == expected.value)
        if attempt is not None:
            stmt = stmt.where(JobRow.attempts == attempt)
        if heartbeat_before is not None:
            stmt = stmt.where(JobRow.heartbeat_at < heartbeat_before)
        with self._sessions.begin() as session:
            if session.execute(stmt.values(**values)).rowcount != 1:
                return None
            row = session.get(JobRow, job_id, populate_existing=True)
            return _to_job(row)

    def heartbeat(self, job_id: uuid.UUID, attempt: int, now: datetime) -> bool:
        stmt = (
            update(JobRow)
            .where(
                JobRow.job_id == job_id,
                JobRow.status == JobStatus.RUNNING.value,
                JobRow.attempts == attempt,
            )
            .values(heartbeat_at=now)
        )
        with self._sessions.begin() as session:
            return session.execute(stmt).rowcount == 1

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
            )
            .order_by(JobRow.created_at)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_to_job(row) for row in session.scalars(stmt)]

    def list_jobs(
        self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[Job]:
        stmt = select(JobRow)
        if status is not None:
            stmt = stmt.where(JobRow.status == status.value)
        stmt = stmt.order_by(JobRow.created_at.desc(), JobRow.job_id).limit(limit).offset(offset)
        with self._sessions() as session:
            return [_to_job(row) for row in session.scalars(stmt)]

    def count_by_status(self) -> dict[JobStatus, int]:
        stmt = select(JobRow.status, func.count()).group_by(JobRow.status)
        with self._sessions() as session:
            counts = {JobStatus(status): n for status, n in session.execute(stmt)}
        return {status: counts.get(status, 0) for status in JobStatus}

    def ping(self) -> None:
        with self._sessions() as session:
            session.execute(text("SELECT 1"))
