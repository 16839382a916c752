"""Worker problem reports on disk: written, refreshed, removed, and a dead worker's
(not refreshed in time) ignored."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.adapters.storage.worker_reports import WorkerReports
from app.workers.problem_watch import ProblemWatch

pytestmark = pytest.mark.integration


def test_reports_are_read_back_and_a_stale_one_is_ignored(tmp_path: Path):
    reports = WorkerReports(tmp_path / "workers")
    assert reports.current(60) == {}  # no folder yet
    reports.write("host-worker-1", ["model file x of package y is missing"])
    reports.write("host-worker-2", ["another"])
    old = time.time() - 120
    os.utime(tmp_path / "workers" / "host-worker-2.json", (old, old))  # killed long ago
    assert reports.current(60) == {"host-worker-1": ["model file x of package y is missing"]}
    reports.remove("host-worker-1")
    reports.remove("host-worker-1")  # twice is fine
    assert reports.current(60) == {}


def test_the_watch_reports_while_there_is_a_problem_and_clears_on_exit(tmp_path: Path):
    reports = WorkerReports(tmp_path / "workers")
    problems = ["broken"]
    with ProblemWatch(reports, "w", lambda: list(problems), interval=0.05):
        assert reports.current(60) == {"w": ["broken"]}
        problems.clear()
        deadline = time.monotonic() + 10
        while reports.current(60) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reports.current(60) == {}
        problems.append("broken again")
        while not reports.current(60) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reports.current(60) == {"w": ["broken again"]}
    assert reports.current(60) == {}
