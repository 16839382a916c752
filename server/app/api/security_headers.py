"""Browser-facing security headers on every answer (pure ASGI, headers only).

The page at `/` loads only its own scripts and stylesheet from `/web/`, shows frame
images and the annotated video as `blob:` URLs it fetched with the API key, and calls the
API on the same origin; nothing inline. Its Content-Security-Policy allows exactly that,
so an injected `<script>` or `onerror=` would not run. The same policy goes on every JSON
answer (it forbids everything a JSON body could be made to load). The `/docs` and
`/redoc` pages load Swagger UI and ReDoc from this server (`/docs-assets/`) and start
them with an inline script, so their policy allows inline code but no other host. No
answer may be framed (clickjacking), sniffed as another type, or leak its URL in a
Referer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS_PATHS = ("/docs", "/redoc")
COMMON_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def policy_for(path: str) -> str:
    return DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP answer, errors included; a header the route set
    itself is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = (
            (b"content-security-policy", policy_for(scope["path"]).encode()),
            *COMMON_HEADERS,
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in added if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
