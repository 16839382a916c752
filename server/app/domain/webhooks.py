"""Webhooks: signed JSON events POSTed when a job with a callback_url finishes.

Events come from the outbox the repository fills in the same transaction as the
status change; a dispatcher in the API sends them, never a worker, so a slow or dead
receiver cannot hold up the frame loop.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from abc import ABC, abstractmethod
from datetime import timedelta
from urllib.parse import urlsplit

from app.domain.destinations import Resolver, checked_addresses
from app.domain.errors import InvalidCallbackUrl
from app.domain.log_context import about
from app.domain.model import WebhookDelivery, utcnow
from app.domain.ports import JobRepository

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
MAX_CALLBACK_URL = 2048


class WebhookSender(ABC):
    """Port: POST a body to a URL; return the HTTP status, raise on a transport error."""

    @abstractmethod
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


def validate_callback_url(
    url: str,
    *,
    secret_configured: bool,
    allow_private: bool = False,
    resolve: Resolver | None = None,
) -> str:
    """An http(s) URL of at most 2048 characters whose host is a public address.

    `resolve` (adapters/net/resolver.py) lets the rule see the addresses of a name; the
    dispatcher checks again at each delivery, since a name may change its answer.
    """
    if len(url) > MAX_CALLBACK_URL:
        raise InvalidCallbackUrl(
            f"callback_url is {len(url)} characters; at most {MAX_CALLBACK_URL} are accepted"
        )
    parts = urlsplit(url)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidCallbackUrl(f"callback_url is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidCallbackUrl(f"callback_url must be an http(s) URL with a host, not {url!r}")
    if not secret_configured:
        raise InvalidCallbackUrl(
            "webhooks are off: set VIDEO_JOBS_WEBHOOK_SECRET on the server to sign them"
        )
    checked_addresses(host, resolve=resolve, allow_private=allow_private)
    return url


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub and Stripe-style receivers expect."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int, base_s: float = 1.0, cap_s: float = 300.0) -> timedelta:
    """Exponential backoff after `attempts` failed tries: 1 s, 2 s, 4 s, ..."""
    return timedelta(seconds=min(cap_s, base_s * 2 ** max(attempts - 1, 0)))


def deliver(
    jobs: JobRepository,
    sender: WebhookSender,
    delivery: WebhookDelivery,
    *,
    secret: str,
    max_attempts: int,
    base_delay_s: float = 1.0,
) -> bool:
    """One attempt at one event; the outcome is recorded whatever happens."""
    body = delivery.payload.encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    status: int | None = None
    error: str | None = None
    try:
        status = sender.post(delivery.url, body, headers)
        if not 200 <= status < 300:
            error = f"receiver answered HTTP {status}"
    except Exception as exc:  # any transport failure is one failed attempt
        error = f"{type(exc).__name__}: {exc}"[:500]
    attempts = delivery.attempts + 1
    delivered = error is None
    retry_at = None
    if not delivered and attempts < max_attempts:
        retry_at = utcnow() + retry_delay(attempts, base_delay_s)
    jobs.record_webhook_attempt(
        delivery.id, utcnow(), delivered=delivered, status_code=status, error=error,
        retry_at=retry_at,
    )  # fmt: skip
    if delivered:
        log.info(
            "job %s: webhook delivered to %s",
            delivery.job_id,
            delivery.url,
            extra=about(delivery.job_id),
        )
    else:
        outcome = "will retry" if retry_at else "giving up"
        log.warning(
            "job %s: webhook attempt %d failed (%s); %s",
            delivery.job_id,
            attempts,
            error,
            outcome,
            extra=about(delivery.job_id),
        )
    return delivered
