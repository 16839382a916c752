"""A small pool of its own for frame images, so decoding never holds up other routes.

Frame images are the API's only decode. They run on a dedicated executor (not anyio's
thread pool, where sync routes such as /video/status run), at most `workers` at once with
at most `queue` more waiting; beyond that a request is refused at once (503 with
Retry-After) instead of piling up. The count is released when the decode itself
finishes, not when the client gives up, so abandoned requests cannot over-fill it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PoolBusy(Exception):
    """Every decode slot and waiting place is taken."""


class FramePool:
    def __init__(self, workers: int, queue: int) -> None:
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="frames")
        self._lock = threading.Lock()
        self._taken = 0

    @property
    def taken(self) -> int:
        return self._taken

    def _release(self, _future: Future) -> None:
        with self._lock:
            self._taken -= 1

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function(*args)` on the pool; PoolBusy at once when it is full."""
        with self._lock:
            if self._taken >= self.capacity:
                raise PoolBusy(f"{self._taken} frame images are being made")
            self._taken += 1
        try:
            future = self._executor.submit(function, *args)
        except BaseException:
            with self._lock:
                self._taken -= 1
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
