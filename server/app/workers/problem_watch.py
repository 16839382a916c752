"""A thread that keeps the worker's problem report (adapters/storage/worker_reports.py)
up to date, so /health tells an operator that a worker cannot load its models instead
of the worker failing quietly or crash-looping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.adapters.storage.worker_reports import WorkerReports

log = logging.getLogger(__name__)


class ProblemWatch:
    """Every `interval` seconds asks `check` for problems: writes them (refreshing the
    report, so it never looks stale) or removes the report once there are none."""

    def __init__(
        self,
        reports: WorkerReports,
        worker: str,
        check: Callable[[], list[str]],
        interval: float,
    ) -> None:
        self.reports, self.worker, self.check, self.interval = reports, worker, check, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="problem-watch", daemon=True)
        self._reported: list[str] = []

    def __enter__(self) -> ProblemWatch:
        self.update()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.reports.remove(self.worker)

    def update(self) -> None:
        try:
            problems = self.check()
            if problems:
                self.reports.write(self.worker, problems)
            else:  # also a report left by this process before it restarted itself
                self.reports.remove(self.worker)
        except Exception as exc:  # a full disk or a vanished folder: try again next time
            log.warning("%s: could not update its problem report: %s", self.worker, exc)
            return
        if problems != self._reported:
            if problems:
                log.error("%s cannot run every pipeline: %s", self.worker, "; ".join(problems))
            else:
                log.info("%s: its earlier problems are gone", self.worker)
        self._reported = problems

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.update()
