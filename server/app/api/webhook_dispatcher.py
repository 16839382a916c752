"""Sends the webhook outbox from the API process, per destination.

Each delivery is leased in the database before it is sent, so two API processes never
send the same event at once. Deliveries are grouped by destination (scheme, host,
port): at most `webhook_per_destination` are in flight to one receiver and the rest wait
in that receiver's own line, so 24 events for a receiver that never answers occupy two
threads, and another receiver's event goes out at once on a free one.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

from app.domain.log_context import about
from app.domain.model import WebhookDelivery, utcnow
from app.domain.ports import JobRepository
from app.domain.webhooks import WebhookSender, deliver
from app.settings import Settings

log = logging.getLogger(__name__)
POLL_S = 0.25
DUE_PER_POLL = 200  # leases expiring in a dead receiver's line must not crowd out others


def destination_of(url: str) -> str:
    """The receiver a URL reaches: scheme, host and port (paths share one receiver)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


class WebhookDispatcher:
    def __init__(self, settings: Settings, jobs: JobRepository, sender: WebhookSender) -> None:
        self.settings = settings
        self.jobs = jobs
        self.sender = sender
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[WebhookDelivery]] = {}
        self._in_flight: dict[str, int] = {}
        self._known: set[int] = set()  # ids waiting or in flight: a re-lease is not resent
        self._pool = ThreadPoolExecutor(
            max_workers=settings.webhook_workers, thread_name_prefix="webhook"
        )
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)

    def start(self) -> WebhookDispatcher:
        self._thread.start()
        return self

    def _lease_s(self, waiting: int) -> float:
        """Long enough for every delivery ahead in its line to time out first."""
        rounds = 1 + waiting // self.settings.webhook_per_destination
        return self.settings.webhook_timeout_s * 3 * rounds + 5

    def dispatch_due(self) -> int:
        """Lease what is due and line it up per destination; returns how many were new."""
        now = utcnow()
        with self._lock:
            backlog = sum(len(line) for line in self._waiting.values())
        lease = now + timedelta(seconds=self._lease_s(backlog))
        due = self.jobs.due_webhooks(now, lease, limit=DUE_PER_POLL)
        added = 0
        with self._lock:
            for delivery in due:
                if delivery.id in self._known:
                    continue
                self._known.add(delivery.id)
                self._waiting.setdefault(destination_of(delivery.url), deque()).append(delivery)
                added += 1
            for destination in list(self._waiting):
                self._start_next(destination)
        return added

    def _start_next(self, destination: str) -> None:
        """Start queued deliveries of one destination up to its limit (lock held)."""
        line = self._waiting.get(destination)
        while line and self._in_flight.get(destination, 0) < self.settings.webhook_per_destination:
            if self._stop.is_set():
                return
            delivery = line.popleft()
            self._in_flight[destination] = self._in_flight.get(destination, 0) + 1
            self._pool.submit(self._send, destination, delivery)
        if not line:
            self._waiting.pop(destination, None)

    def _send(self, destination: str, delivery: WebhookDelivery) -> None:
        try:
            deliver(
                self.jobs,
                self.sender,
                delivery,
                secret=self.settings.webhook_secret or "",
                max_attempts=self.settings.webhook_max_attempts,
                base_delay_s=self.settings.webhook_retry_base_s,
            )
        except Exception:
            log.exception(
                "job %s: webhook delivery %d failed",
                delivery.job_id,
                delivery.id,
                extra=about(delivery.job_id),
            )
        finally:
            with self._lock:
                self._known.discard(delivery.id)
                self._in_flight[destination] -= 1
                if not self._in_flight[destination]:
                    del self._in_flight[destination]
                self._start_next(destination)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.dispatch_due()
            except Exception:
                log.exception("webhook dispatch failed; trying again shortly")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
