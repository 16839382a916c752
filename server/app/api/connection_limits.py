"""Who may hold the API's connections: a bound per client address, and room kept for
`/health`, so one client (or a crowd) cannot leave the probes without a connection.

uvicorn's --limit-concurrency (VIDEO_JOBS_HTTP_LIMIT_CONCURRENCY) is a single bound for
everyone: 1,005 slow connections from one address made `/health` answer 503. Here a
connection is *restricted* when it opens while its address already holds
VIDEO_JOBS_HTTP_MAX_CONNECTIONS_PER_CLIENT connections, or while the API holds more
than the concurrency limit less its share VIDEO_JOBS_HTTP_HEALTH_RESERVED_SHARE. A
restricted connection is served for `GET /health` only: any other request is answered
at once with a JSON 429 (per client) or 503 (overall) and closed, and one whose request
has not arrived within VIDEO_JOBS_HTTP_OVER_LIMIT_HEADER_TIMEOUT_S gets the same answer,
so the over-limit connections leave quickly and the reserved ones stay free for probes.
A connection past its address's bound while the API is already past the soft limit is
answered at once, without waiting for its request (see `answer_at_once`).

Behind a reverse proxy every connection comes from the proxy's address: set the per
client bound to 0 there and let the proxy bound its clients (docs/deployment.md).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass

from starlette.types import Send

from app.settings import Settings, get_settings

HEALTH_PATH = "/health"


@dataclass(frozen=True)
class ConnectionRules:
    per_client: int  # 0: no bound per address
    soft_limit: int  # above this many open connections, only /health is served
    over_limit_header_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionRules:
        return cls(
            per_client=settings.http_max_connections_per_client,
            soft_limit=settings.http_limit_concurrency - reserved_for_health(settings),
            over_limit_header_timeout_s=settings.http_over_limit_header_timeout_s,
        )


def reserved_for_health(settings: Settings) -> int:
    """Connections kept for /health: a share of the concurrency limit, at least one."""
    return max(1, round(settings.http_limit_concurrency * settings.http_health_reserved_share))


@functools.cache
def connection_rules() -> ConnectionRules:
    """The rules, read once per process from the settings."""
    return ConnectionRules.from_settings(get_settings())


@dataclass(frozen=True)
class Refusal:
    """Why a restricted connection is not served: its status and its JSON detail."""

    status: int
    reason: str
    detail: str

    def body(self) -> bytes:
        return json.dumps({"detail": self.detail}).encode()

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body())).encode()),
            (b"retry-after", b"1"),
            (b"connection", b"close"),
        ]

    def response(self) -> bytes:
        """The whole HTTP/1.1 answer, for writing straight to the transport."""
        head = f"HTTP/1.1 {self.status} {self.reason}\r\n".encode()
        head += b"".join(name + b": " + value + b"\r\n" for name, value in self.headers())
        return head + b"\r\n" + self.body()

    async def send(self, send: Send) -> None:
        """The answer through ASGI, for a request whose headers have arrived."""
        await send(
            {"type": "http.response.start", "status": self.status, "headers": self.headers()}
        )
        await send({"type": "http.response.body", "body": self.body(), "more_body": False})


def per_client_refusal(limit: int) -> Refusal:
    return Refusal(
        429,
        "Too Many Requests",
        f"this address already holds {limit} connections to the API "
        "(VIDEO_JOBS_HTTP_MAX_CONNECTIONS_PER_CLIENT); close some and try again",
    )


def overall_refusal(soft_limit: int) -> Refusal:
    return Refusal(
        503,
        "Service Unavailable",
        f"the API holds over {soft_limit} connections; the rest are kept for /health "
        "(VIDEO_JOBS_HTTP_LIMIT_CONCURRENCY, VIDEO_JOBS_HTTP_HEALTH_RESERVED_SHARE); "
        "try again shortly",
    )


class ClientLedger:
    """Open connections per client address, in one API process (one event loop)."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def opened(self, address: str) -> int:
        """Count a new connection; returns how many the address held before it."""
        before = self._open[address]
        self._open[address] = before + 1
        return before

    def closed(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def held(self, address: str) -> int:
        return self._open[address]


def answer_at_once(rules: ConnectionRules, held_by_client: int, open_connections: int) -> bool:
    """Refuse without waiting for the request? When the address is past its bound while
    the API is already into the share kept for /health: holding such connections for
    the over-limit timeout is what would fill that share, so they go at once (that
    address's own probes wait until it closes some)."""
    over_client = rules.per_client and held_by_client >= rules.per_client
    return bool(over_client) and open_connections > rules.soft_limit


def refusal_for(
    rules: ConnectionRules, held_by_client: int, open_connections: int
) -> Refusal | None:
    """Why a connection opening now is restricted (None: it is not). `held_by_client`
    is what its address held before it; `open_connections` counts it."""
    if rules.per_client and held_by_client >= rules.per_client:
        return per_client_refusal(rules.per_client)
    if open_connections > rules.soft_limit:
        return overall_refusal(rules.soft_limit)
    return None
