"""The segment half of the SQLAlchemy JobRepository (a mixin over its sessions): every
change is one conditional UPDATE, as for the job's own transitions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.db.orm import JobRow
from app.domain.model import Job, JobStatus, SplitState

RUNNING = JobStatus.RUNNING.value
# Parents no worker holds: their segments, or the queue, carry them (no heartbeat).
UNHELD = (SplitState.SEGMENTS.value, SplitState.MERGE.value)


def held_by_a_worker():
    """The stale sweep's filter: not a parent waiting on its segments or the queue."""
    return JobRow.split_state.is_(None) | JobRow.split_state.not_in(UNHELD)


def count_in_parent(session: Session, parent_id: uuid.UUID, now: datetime) -> None:
    """In the transaction that completed one of its segments: one more done, and the
    one that makes the count whole moves the parent to `merge` (SET reads the old row,
    on SQLite as on PostgreSQL, so two completions can never both see the last)."""
    done = JobRow.segments_completed + 1
    session.execute(
        update(JobRow)
        .where(
            JobRow.job_id == parent_id,
            JobRow.status == RUNNING,
            JobRow.split_state == SplitState.SEGMENTS.value,
        )
        .values(
            segments_completed=done,
            split_state=case(
                (done >= JobRow.segments_total, SplitState.MERGE.value),
                else_=JobRow.split_state,
            ),
            updated_at=now,
        )
    )


class SqlAlchemySegments:
    _sessions: sessionmaker[Session]
    _to_job: Callable[[JobRow], Job]
    _to_row: Callable[[Job], JobRow]

    def _update_parent(self, parent_id: uuid.UUID, stmt, **values: Any) -> Job | None:
        with self._sessions.begin() as session:
            result = cast("CursorResult[Any]", session.execute(stmt.values(**values)))
            if result.rowcount != 1:
                return None
            row = session.get(JobRow, parent_id, populate_existing=True)
            assert row is not None
            return type(self)._to_job(row)

    def split(
        self, parent_id: uuid.UUID, attempt: int, segments: Sequence[Job], now: datetime
    ) -> Job | None:
        stmt = update(JobRow).where(
            JobRow.job_id == parent_id,
            JobRow.status == RUNNING,
            JobRow.attempts == attempt,
            JobRow.split_state.is_(None),
        )
        values = {
            "split_state": SplitState.SEGMENTS.value,
            "segments_total": len(segments),
            "segments_completed": 0,
            "updated_at": now,
        }
        with self._sessions.begin() as session:
            result = cast("CursorResult[Any]", session.execute(stmt.values(**values)))
            if result.rowcount != 1:
                return None
            session.add_all([type(self)._to_row(segment) for segment in segments])
            row = session.get(JobRow, parent_id, populate_existing=True)
            assert row is not None
            return type(self)._to_job(row)

    def segments(self, parent_id: uuid.UUID) -> list[Job]:
        stmt = select(JobRow).where(JobRow.parent_id == parent_id).order_by(JobRow.segment_index)
        with self._sessions() as session:
            return [type(self)._to_job(row) for row in session.scalars(stmt)]

    def claim_merge(self, parent_id: uuid.UUID, now: datetime) -> Job | None:
        stmt = update(JobRow).where(
            JobRow.job_id == parent_id,
            JobRow.status == RUNNING,
            JobRow.split_state == SplitState.MERGE.value,
        )
        return self._update_parent(
            parent_id,
            stmt,
            split_state=SplitState.MERGING.value,
            attempts=JobRow.attempts + 1,
            heartbeat_at=now,
            updated_at=now,
        )

    def release_merge(
        self,
        parent_id: uuid.UUID,
        now: datetime,
        *,
        attempt: int | None = None,
        heartbeat_before: datetime | None = None,
    ) -> Job | None:
        stmt = update(JobRow).where(
            JobRow.job_id == parent_id,
            JobRow.status == RUNNING,
            JobRow.split_state == SplitState.MERGING.value,
        )
        values: dict[str, Any] = {"split_state": SplitState.MERGE.value, "updated_at": now}
        if attempt is not None:
            stmt = stmt.where(JobRow.attempts == attempt)
            values["attempts"] = JobRow.attempts - 1
        if heartbeat_before is not None:
            stmt = stmt.where(JobRow.heartbeat_at < heartbeat_before)
        return self._update_parent(parent_id, stmt, **values)

    def merges_waiting(self, updated_before: datetime, limit: int = 1000) -> list[uuid.UUID]:
        stmt = (
            select(JobRow.job_id)
            .where(
                JobRow.status == RUNNING,
                JobRow.split_state == SplitState.MERGE.value,
                JobRow.updated_at <= updated_before,
            )
            .order_by(JobRow.created_at)
            .limit(limit)
        )
        with self._sessions() as session:
            return list(session.scalars(stmt))

    def count_segments_by_status(self) -> dict[JobStatus, int]:
        stmt = (
            select(JobRow.status, func.count())
            .where(JobRow.parent_id.is_not(None))
            .group_by(JobRow.status)
        )
        with self._sessions() as session:
            counts = {JobStatus(status): n for status, n in session.execute(stmt)}
        return {status: counts.get(status, 0) for status in JobStatus}
