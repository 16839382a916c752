"""What a worker does when its job hangs: start afresh, or exit when it was to stop."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from app.workers import worker_runner

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("once", "stopping", "expected"),
    [(False, False, "restart"), (True, False, "exit"), (False, True, "exit")],
)
def test_a_stalled_worker_restarts_unless_it_was_to_stop(monkeypatch, once, stopping, expected):
    done: list[str] = []
    monkeypatch.setattr(worker_runner, "restart_process", lambda: done.append("restart"))
    monkeypatch.setattr(worker_runner, "exit_stalled", lambda: done.append("exit"))
    stop = threading.Event()
    if stopping:
        stop.set()
    worker_runner.stall_handler(SimpleNamespace(stop_requested=stop), once)()
    assert done == [expected]
