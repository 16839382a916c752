"""The segment half of the in-memory JobRepository (a mixin over its dict and lock),
kept apart so each module stays short; it passes the same contract suite as SQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from app.domain.model import Job, JobStatus, SplitState

# Parents no worker holds: their segments, or the queue, carry them (no heartbeat).
UNHELD = (SplitState.SEGMENTS.value, SplitState.MERGE.value)


class InMemorySegments:
    _jobs: dict[uuid.UUID, Job]
    _lock: threading.Lock

    def _count_in_parent(self, segment: Job, now: datetime) -> None:
        """Called under the lock when `segment` has just completed."""
        parent = self._jobs.get(segment.parent_id) if segment.parent_id else None
        if parent is None or parent.status is not JobStatus.RUNNING:
            return
        if parent.split_state != SplitState.SEGMENTS.value:
            return
        done = parent.segments_completed + 1
        state = SplitState.MERGE.value if done >= (parent.segments_total or 0) else None
        self._jobs[parent.job_id] = replace(
            parent,
            segments_completed=done,
            split_state=state or parent.split_state,
            updated_at=now,
        )

    def split(
        self, parent_id: uuid.UUID, attempt: int, segments: Sequence[Job], now: datetime
    ) -> Job | None:
        with self._lock:
            parent = self._jobs.get(parent_id)
            if parent is None or parent.status is not JobStatus.RUNNING:
                return None
            if parent.attempts != attempt or parent.split_state is not None:
                return None
            parent = replace(
                parent,
                split_state=SplitState.SEGMENTS.value,
                segments_total=len(segments),
                segments_completed=0,
                updated_at=now,
            )
            self._jobs[parent_id] = parent
            for segment in segments:
                self._jobs[segment.job_id] = segment
            return parent

    def segments(self, parent_id: uuid.UUID) -> list[Job]:
        with self._lock:
            found = [j for j in self._jobs.values() if j.parent_id == parent_id]
        return sorted(found, key=lambda j: j.segment_index or 0)

    def claim_merge(self, parent_id: uuid.UUID, now: datetime) -> Job | None:
        with self._lock:
            parent = self._jobs.get(parent_id)
            if parent is None or parent.status is not JobStatus.RUNNING:
                return None
            if parent.split_state != SplitState.MERGE.value:
                return None
            parent = replace(
                parent,
                split_state=SplitState.MERGING.value,
                attempts=parent.attempts + 1,
                heartbeat_at=now,
                updated_at=now,
            )
            self._jobs[parent_id] = parent
            return parent

    def release_merge(
        self,
        parent_id: uuid.UUID,
        now: datetime,
        *,
        attempt: int | None = None,
        heartbeat_before: datetime | None = None,
    ) -> Job | None:
        with self._lock:
            parent = self._jobs.get(parent_id)
            if parent is None or parent.status is not JobStatus.RUNNING:
                return None
            if parent.split_state != SplitState.MERGING.value:
                return None
            if attempt is not None and parent.attempts != attempt:
                return None
            if heartbeat_before is not None and not (
                parent.heartbeat_at is not None and parent.heartbeat_at < heartbeat_before
            ):
                return None
            parent = replace(
                parent,
                split_state=SplitState.MERGE.value,
                attempts=parent.attempts - (1 if attempt is not None else 0),
                updated_at=now,
            )
            self._jobs[parent_id] = parent
            return parent

    def merges_waiting(self, updated_before: datetime, limit: int = 1000) -> list[uuid.UUID]:
        with self._lock:
            waiting = [
                j
                for j in self._jobs.values()
                if j.status is JobStatus.RUNNING
                and j.split_state == SplitState.MERGE.value
                and j.updated_at <= updated_before
            ]
        return [j.job_id for j in sorted(waiting, key=lambda j: j.created_at)][:limit]

    def count_segments_by_status(self) -> dict[JobStatus, int]:
        with self._lock:
            statuses = [j.status for j in self._jobs.values() if j.parent_id is not None]
        return {status: statuses.count(status) for status in JobStatus}
