"""uvicorn's h11 protocol plus the two read timeouts it lacks, so slow clients cannot
hold connections open (the "slowloris" attack).

- Headers: a request's headers must arrive whole within VIDEO_JOBS_HTTP_HEADER_TIMEOUT_S
  of the connection opening (or of the previous response on a kept-alive connection),
  however slowly they trickle in; otherwise the API answers 408 and closes.
- Body: while the API waits for body bytes, a gap longer than
  VIDEO_JOBS_HTTP_BODY_TIMEOUT_S closes the connection (the route sees a disconnect).
  Time the API itself spends not reading (flow control paused) is not counted.

- Connections: a bound per client address and room kept for `/health`
  (connection_limits.py): a connection over them serves `GET /health` only.

uvicorn's own --limit-concurrency (503 beyond it) and --timeout-keep-alive complete the
picture; `make run` (app/run.py) passes all of them. Selected with
`--http app.api.slow_clients:SlowClientH11Protocol`.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import h11
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http import h11_impl
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.api.connection_limits import (
    HEALTH_PATH,
    ClientLedger,
    Refusal,
    answer_at_once,
    connection_rules,
    refusal_for,
)
from app.settings import get_settings

log = logging.getLogger(__name__)
# Open connections per client address in this process (uvicorn runs one event loop).
CLIENTS = ClientLedger()


@functools.cache
def read_timeouts() -> tuple[float, float]:
    """(header, body) timeouts in seconds, read once per process from the settings."""
    settings = get_settings()
    return settings.http_header_timeout_s, settings.http_body_timeout_s


def _timeout_response(seconds: float) -> bytes:
    body = f'{{"detail":"request headers not received within {seconds:g} s"}}'.encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode()
    return head + body


OVERLOADED = (
    b'{"detail":"the API is at its connection limit '
    b'(VIDEO_JOBS_HTTP_LIMIT_CONCURRENCY); try again shortly"}'
)


async def _overloaded(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """uvicorn's answer beyond --limit-concurrency, as JSON like every other error."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(OVERLOADED)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": OVERLOADED, "more_body": False})


# uvicorn picks its plain-text 503 by this module-level name in handle_events; only the
# API process imports this module (run.py selects the protocol), so only it changes.
if hasattr(h11_impl, "service_unavailable"):
    h11_impl.service_unavailable = _overloaded


class SlowClientH11Protocol(H11Protocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout, self._body_timeout = read_timeouts()
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body"
        self._address: str | None = None
        self._refusal: Refusal | None = None  # set: only /health is served
        self._serve = self.app
        self.app = self._guarded_app

    async def _guarded_app(self, scope, receive, send) -> None:
        """The application, or the refusal for a restricted connection's requests
        other than /health."""
        if self._refusal is not None and scope.get("path") != HEALTH_PATH:
            await self._refusal.send(send)
            return
        await self._serve(scope, receive, send)

    # -- timer ---------------------------------------------------------------------
    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = None
        self._waiting_for = None

    def _arm(self, what: str, seconds: float) -> None:
        self._cancel_read_timer()
        self._waiting_for = what
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _follow_state(self) -> None:
        """Arm, keep or cancel the timer for what the connection now waits for."""
        if self.transport is None or self.transport.is_closing():
            self._cancel_read_timer()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._waiting_for != "headers":  # the deadline runs from when it was set
                self._arm("headers", self._header_timeout)
        elif state is h11.SEND_BODY:
            self._arm("body", self._body_timeout)  # an idle limit: reset on every chunk
        else:
            self._cancel_read_timer()  # the request is in: the app's time is not counted

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        if self._waiting_for == "headers" and state is h11.IDLE:
            log.info("closing a connection: headers not received in %gs", self._header_timeout)
            if self.conn.our_state is h11.IDLE:
                answer = self._refusal.response() if self._refusal else None
                self.transport.write(answer or _timeout_response(self._header_timeout))
            self.transport.close()
        elif self._waiting_for == "body" and state is h11.SEND_BODY:
            if self.flow.read_paused:  # the app is not reading: not the client's fault
                self._arm("body", self._body_timeout)
                return
            log.info("closing a connection: no body bytes for %gs", self._body_timeout)
            self.transport.close()
        else:
            self._waiting_for = None
            self._follow_state()

    # -- protocol hooks --------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        rules = connection_rules()
        if self.client is not None:  # a Unix socket has no address to count
            self._address = self.client[0]
            held = CLIENTS.opened(self._address)
            self._refusal = refusal_for(rules, held, len(self.connections))
            if self._refusal is not None and answer_at_once(rules, held, len(self.connections)):
                self.transport.write(self._refusal.response())
                self.transport.close()
                return
        if self._refusal is None:
            self._arm("headers", self._header_timeout)
        else:  # over a limit: its request must come at once, or it is answered and closed
            self._arm("headers", min(self._header_timeout, rules.over_limit_header_timeout_s))

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._cancel_read_timer()  # a new request: a new header deadline
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        if self._address is not None:
            CLIENTS.closed(self._address)
            self._address = None
        super().connection_lost(exc)
