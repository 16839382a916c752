"""Sends the webhook outbox from the API process, a few deliveries at a time.

Each delivery is leased in the database before it is sent, so two API processes never
send the same event at once; a thread pool keeps one slow receiver from delaying others.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from app.domain.model import utcnow
from app.domain.ports import JobRepository
from app.domain.webhooks import WebhookSender, deliver
from app.settings import Settings

log = logging.getLogger(__name__)
POLL_S = 0.25


class WebhookDispatcher:
    def __init__(self, settings: Settings, jobs: JobRepository, sender: WebhookSender) -> None:
        self.settings = settings
        self.jobs = jobs
        self.sender = sender
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)

    def start(self) -> WebhookDispatcher:
        self._thread.start()
        return self

    def dispatch_due(self) -> int:
        """Lease and send what is due; returns how many were handed to the pool."""
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_timeout_s * 3 + 5)
        due = self.jobs.due_webhooks(now, lease)
        for delivery in due:
            self._pool.submit(
                deliver,
                self.jobs,
                self.sender,
                delivery,
                secret=self.settings.webhook_secret or "",
                max_attempts=self.settings.webhook_max_attempts,
                base_delay_s=self.settings.webhook_retry_base_s,
            )
        return len(due)

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
