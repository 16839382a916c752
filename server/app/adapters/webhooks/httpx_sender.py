"""WebhookSender over httpx, with a hard timeout so a slow receiver costs seconds only.

Each delivery resolves the host again, checks every address (domain/destinations.py)
and connects to a checked address only: the name is not looked up a second time by the
HTTP client, so a DNS answer that changes between check and connect cannot slip an
internal address in. The Host header and TLS server name stay the URL's own.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from app.adapters.net.resolver import resolve_host
from app.domain.destinations import Resolver, checked_addresses
from app.domain.webhooks import WebhookSender


class HttpxWebhookSender(WebhookSender):
    def __init__(
        self,
        timeout_s: float = 5.0,
        *,
        allow_private: bool = False,
        resolve: Resolver = resolve_host,
    ) -> None:
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._allow_private = allow_private
        self._resolve = resolve

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        parts = urlsplit(url)
        host = parts.hostname or ""
        addresses = checked_addresses(
            host, resolve=self._resolve, allow_private=self._allow_private
        )  # raises InvalidCallbackUrl: recorded as a failed attempt, naming the rule
        address = addresses[0]
        literal = f"[{address}]" if ":" in address else address
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        pinned = urlunsplit(parts._replace(netloc=netloc))
        host_header = parts.netloc.rsplit("@", 1)[-1]
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        response = self._client.post(
            pinned,
            content=body,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
        return response.status_code

    def close(self) -> None:
        self._client.close()
