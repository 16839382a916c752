"""Refuse oversized uploads before their bodies are read (pure ASGI, no buffering)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Multipart framing around the file part (boundaries, headers, small form fields).
MULTIPART_SLACK_BYTES = 64 * 1024


class UploadLimitMiddleware:
    """413 at once when Content-Length is over the limit; for bodies without one, stop
    reading as soon as the running count passes it, so nothing large is spooled."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        length = _content_length(scope)
        if length is not None and length > limit:
            response = JSONResponse(
                {"detail": f"the upload is {length} bytes; the limit is {limit} bytes"},
                status_code=413,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0
        ceiling = limit + MULTIPART_SLACK_BYTES

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > ceiling:
                    # FastAPI re-raises HTTPException from body parsing as-is.
                    raise HTTPException(413, f"the upload is over the limit of {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
