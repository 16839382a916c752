"""The queue the API hosts and workers reach over a `multiprocessing` BaseManager.

The server runs inside the API process (threads, no child process), so a killed API
frees its port at once and a restarted API can bind it again. The client drops the
connection that BaseProxy caches per address whenever a call fails; without that, a
worker would retry forever on the dead socket ("Broken pipe") after an API restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Listener
from multiprocessing.managers import BaseManager, BaseProxy, Server
from typing import Any, ClassVar, cast

from app.adapters.queue.in_memory import InProcessQueue, SharedQueue
from app.domain.errors import QueueUnavailable
from app.domain.ports import QueueService

log = logging.getLogger(__name__)
_EXPOSED = ("put", "get", "snapshot", "qsize")


class _QueueManager(BaseManager):
    # Set by BaseManager.register (typeid -> (callable, exposed, method_to_typeid,
    # proxytype)); typeshed does not declare it.
    _registry: ClassVar[dict[str, tuple[Any, ...]]]


# Client side: the typeid only; the callable lives on the server's registry.
_QueueManager.register("get_queue", exposed=_EXPOSED)


class _StoppableServer(Server):
    """multiprocessing's Server, with an accept loop that ends when asked to."""

    listener: Listener  # set by Server.__init__; typeshed does not declare it

    def start(self) -> None:
        self.stop_event = threading.Event()
        self._connections: set = set()
        self._connections_lock = threading.Lock()
        self._accepter = threading.Thread(target=self.accepter, name="queue-accept", daemon=True)
        self._accepter.start()

    def accepter(self) -> None:
        while not self.stop_event.is_set():
            try:
                conn = self.listener.accept()
            except OSError:
                if self.stop_event.is_set():
                    return
                continue
            # Authentication happens in this per-connection thread (Server.handle_request),
            # so a slow or wrong-key client never blocks the accept loop.
            threading.Thread(target=self.handle_request, args=(conn,), daemon=True).start()

    def is_serving(self) -> bool:
        return not self.stop_event.is_set() and self._accepter.is_alive()

    def accept_connection(self, conn, name: str) -> None:
        super().accept_connection(conn, name)
        # serve_client returned because stop() was called. Leave without the reply
        # ('#RETURN', None) that Server._handle_request would send next: a client would read
        # it as the answer to its next call (a get of None, a put that seemed to work).
        raise SystemExit(0)

    def handle_request(self, conn) -> None:
        with self._connections_lock:
            self._connections.add(conn)
        try:
            super().handle_request(conn)
        finally:
            with self._connections_lock:
                self._connections.discard(conn)

    def stop(self) -> None:
        """Stop accepting and cut every client off, as a real API exit would."""
        self.stop_event.set()
        raw = getattr(self.listener, "_listener", None)
        _shutdown_socket(getattr(raw, "_socket", None))  # wakes the blocked accept()
        self.listener.close()
        self._accepter.join(timeout=5)
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                _shutdown_socket(socket.socket(fileno=os.dup(conn.fileno())), close=True)


def _shutdown_socket(sock: socket.socket | None, close: bool = False) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    if close:
        sock.close()


class ManagerQueueServer(InProcessQueue):
    """The API's side: a local queue.Queue, also served to workers over TCP."""

    def __init__(self, host: str, port: int, authkey: bytes) -> None:
        super().__init__(SharedQueue())
        registry = dict(_QueueManager._registry)
        registry["get_queue"] = (lambda: self.shared, *registry["get_queue"][1:])
        self._server = _StoppableServer(registry, (host, port), authkey, "pickle")
        # A TCP listener's address: (host, port), the port the OS chose if 0 was asked.
        self.address = cast(tuple[str, int], self._server.address)

    def start(self) -> ManagerQueueServer:
        self._server.start()
        log.info("queue served on %s:%d", *self.address)
        return self

    def is_serving(self) -> bool:
        return self._server.is_serving()

    def ping(self) -> None:
        if not self.is_serving():
            raise QueueUnavailable("the queue server is not accepting connections")

    def close(self) -> None:
        self._server.stop()


class ManagerQueueClient(QueueService):
    """A worker's side: calls the API's queue, reconnecting after any failure.

    `authkey` may be a function that reads the key (the key file): it is called at
    once, so a bad key stops the worker at start, and again after the API refuses the
    handshake, so a worker follows a key file that was recreated while it ran.
    """

    def __init__(self, host: str, port: int, authkey: bytes | Callable[[], bytes]) -> None:
        self.address = (host, port)
        self._read_key = authkey if callable(authkey) else (lambda: authkey)
        self._authkey = self._read_key()
        self._key_refused = False
        self._proxy = None

    def _queue(self):
        if self._proxy is None:
            if self._key_refused:
                self._reread_key()
            manager = _QueueManager(address=self.address, authkey=self._authkey)
            manager.connect()
            self._proxy = manager.get_queue()
        return self._proxy

    def _reread_key(self) -> None:
        try:
            key = self._read_key()
        except (OSError, ValueError) as exc:  # being rewritten, or refused: try later
            raise QueueUnavailable(f"the queue key could not be read again: {exc}") from exc
        if key != self._authkey:
            log.info("queue key changed on disk; connecting with the new key")
        self._authkey, self._key_refused = key, False

    def _call(self, method: str, *args):
        try:
            return getattr(self._queue(), method)(*args)
        except AuthenticationError as exc:
            self._reset()
            self._key_refused = True
            raise QueueUnavailable(
                f"queue at {self.address[0]}:{self.address[1]} refused our authkey "
                "(VIDEO_JOBS_QUEUE_AUTHKEY or <DATA_DIR>/queue.key must match the API's); "
                "the key is read again before the next try"
            ) from exc
        except (OSError, EOFError) as exc:
            self._reset()
            raise QueueUnavailable(
                f"queue at {self.address[0]}:{self.address[1]} unreachable: {exc!r}"
            ) from exc

    def _reset(self) -> None:
        """Forget the dead connection, including the one BaseProxy caches per address."""
        self._proxy = None
        with BaseProxy._mutex:
            BaseProxy._address_to_local.pop(self.address, None)

    def put(self, job_id: uuid.UUID) -> None:
        self._call("put", str(job_id))

    def get(self, timeout: float) -> uuid.UUID | None:
        value = self._call("get", timeout)
        return uuid.UUID(value) if value is not None else None

    def queued_ids(self) -> set[uuid.UUID]:
        return {uuid.UUID(v) for v in self._call("snapshot")}

    def size(self) -> int:
        return self._call("qsize")

    def ping(self) -> None:
        self._call("qsize")

    def close(self) -> None:
        self._reset()
