"""The API key, checked before anything reads the request body (pure ASGI).

A dependency runs only after FastAPI has parsed the body, so a keyless client could make
the API spool or hold whatever it sent. This middleware answers 401 from the headers
alone. `require_api_key` (deps.py) stays on the routes: it declares the X-API-Key scheme
in the OpenAPI schema and repeats the same check.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

API_KEY_HEADER = b"x-api-key"
UNAUTHORIZED = "missing or wrong X-API-Key header"
PROTECTED_PREFIXES = ("/video", "/v1/video")


def is_protected(path: str) -> bool:
    """Every /video and /v1/video route (never /health, /metrics or the web page)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PROTECTED_PREFIXES)


def key_matches(given: bytes | None, expected: str) -> bool:
    """Constant-time comparison of the header's bytes with the configured key."""
    return given is not None and secrets.compare_digest(given, expected.encode())


class ApiKeyMiddleware:
    """401 with a JSON detail when VIDEO_JOBS_API_KEY is set and the header is missing
    or wrong; the body is never read (the connection is closed after the answer)."""

    def __init__(self, app: ASGIApp, api_key: Callable[[], str | None]) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_protected(scope["path"]):
            expected = self.api_key()
            if expected is not None and not key_matches(_header(scope), expected):
                response = JSONResponse(
                    {"detail": UNAUTHORIZED}, status_code=401, headers={"Connection": "close"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _header(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == API_KEY_HEADER:
            return value
    return None
