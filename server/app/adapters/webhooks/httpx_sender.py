"""WebhookSender over httpx, with a hard timeout so a slow receiver costs seconds only."""

from __future__ import annotations

import httpx

from app.domain.webhooks import WebhookSender


class HttpxWebhookSender(WebhookSender):
    def __init__(self, timeout_s: float = 5.0) -> None:
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self._client.post(url, content=body, headers=headers).status_code

    def close(self) -> None:
        self._client.close()
