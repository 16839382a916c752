"""QueueService on Redis: the API and workers may run on different hosts.

Hand-over is reliable: a worker BLMOVEs an id from the shared list into its own
processing list and removes it (`ack`) once it has tried the claim. Each worker keeps
a liveness key with a TTL; `recover_orphans` moves the ids of workers whose key has
expired back to the shared list. The database stays the source of truth.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import cast

import redis

from app.domain.errors import QueueUnavailable
from app.domain.ports import QueueService

log = logging.getLogger(__name__)


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise QueueUnavailable(f"redis queue unreachable: {exc}") from exc


class RedisQueue(QueueService):
    def __init__(
        self,
        url: str,
        *,
        name: str = "video_jobs",
        consumer: str | None = None,
        liveness_ttl_s: int = 30,
    ) -> None:
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        self.name = name
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.liveness_ttl_s = liveness_ttl_s
        self.pending_key = f"{name}:pending"
        self.processing_key = f"{name}:processing:{self.consumer}"
        self._alive_key = f"{name}:alive:{self.consumer}"

    def put(self, job_id: uuid.UUID) -> None:
        with _translated_errors():
            self._redis.lpush(self.pending_key, str(uuid.UUID(str(job_id))))

    def get(self, timeout: float) -> uuid.UUID | None:
        with _translated_errors():
            self._redis.set(self._alive_key, "1", ex=self.liveness_ttl_s)
            value = self._redis.blmove(
                self.pending_key,
                self.processing_key,
                max(timeout, 0.01),  # type: ignore[arg-type]  # BLMOVE takes seconds as a float
                "RIGHT",
                "LEFT",
            )
        # A sync client's replies are not Awaitable (redis-py types them `Awaitable[T] | T`).
        value = cast(bytes | None, value)
        return uuid.UUID(value.decode()) if value is not None else None

    def ack(self, job_id: uuid.UUID) -> None:
        with _translated_errors():
            self._redis.lrem(self.processing_key, 1, str(job_id))

    def queued_ids(self) -> set[uuid.UUID]:
        """Waiting ids plus ids in any worker's hand-over list (they are not lost)."""
        with _translated_errors():
            values = cast(list[bytes], self._redis.lrange(self.pending_key, 0, -1))
            for key in self._processing_keys():
                values += cast(list[bytes], self._redis.lrange(key, 0, -1))
        return {uuid.UUID(v.decode()) for v in values}

    def size(self) -> int:
        with _translated_errors():
            return int(cast(int, self._redis.llen(self.pending_key)))

    def recover_orphans(self) -> int:
        recovered = 0
        prefix = f"{self.name}:processing:"
        with _translated_errors():
            for key in self._processing_keys():
                consumer = key.decode()[len(prefix) :]
                if self._redis.exists(f"{self.name}:alive:{consumer}"):
                    continue
                # redis-py annotates lmove's keys as str; a bytes key (KeyT) is sent as is.
                while self._redis.lmove(key, self.pending_key, "RIGHT", "RIGHT") is not None:  # type: ignore[arg-type]
                    recovered += 1
        if recovered:
            log.warning("recovered %d id(s) taken by workers that stopped", recovered)
        return recovered

    def _processing_keys(self) -> list[bytes]:
        return list(self._redis.scan_iter(match=f"{self.name}:processing:*"))

    def ping(self) -> None:
        with _translated_errors():
            self._redis.ping()

    def close(self) -> None:
        with suppress(redis.RedisError):
            self._redis.delete(self._alive_key)
        self._redis.close()
