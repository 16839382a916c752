"""QueueService over a plain `queue.Queue`, in one process (unit tests, embedded use)."""

from __future__ import annotations

import queue
import uuid

from app.domain.ports import QueueService


class SharedQueue:
    """The object the Manager serves: ids travel as strings, Empty becomes None.

    Returning None instead of raising keeps tracebacks out of the wire protocol.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue()

    def put(self, job_id: str) -> None:
        self._queue.put(str(uuid.UUID(job_id)))  # only a well-formed id gets in

    def get(self, timeout: float) -> str | None:
        try:
            return self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def snapshot(self) -> list[str]:
        with self._queue.mutex:
            return list(self._queue.queue)

    def qsize(self) -> int:
        return self._queue.qsize()


class InProcessQueue(QueueService):
    def __init__(self, shared: SharedQueue | None = None) -> None:
        self.shared = shared or SharedQueue()

    def put(self, job_id: uuid.UUID) -> None:
        self.shared.put(str(job_id))

    def get(self, timeout: float) -> uuid.UUID | None:
        value = self.shared.get(timeout)
        return uuid.UUID(value) if value is not None else None

    def queued_ids(self) -> set[uuid.UUID]:
        return {uuid.UUID(v) for v in self.shared.snapshot()}

    def size(self) -> int:
        return self.shared.qsize()
