"""The queue key with real processes: a weak key stops both processes at start, and a
worker follows a key file that was recreated while it ran (a rotated key)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.testing.processes import Services

pytestmark = pytest.mark.worker


def wait_until(condition, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def key_file(services: Services) -> Path:
    return services.data_dir / "queue.key"


@pytest.mark.parametrize(
    ("content", "mode", "reason"),
    [
        (b"", 0o600, "is 0 bytes; at least 32 are needed"),
        (b"k" * 16, 0o600, "is 16 bytes; at least 32 are needed"),
        (b"k" * 64, 0o644, "group or others can read it"),
    ],
)
def test_a_weak_queue_key_stops_the_api_and_the_worker_at_start(
    services_factory, content: bytes, mode: int, reason: str
):
    services = services_factory()
    key_file(services).write_bytes(content)
    key_file(services).chmod(mode)
    api = services.start_api(wait=False)
    worker = services.start_worker()
    assert api.wait(timeout=180) != 0
    assert worker.wait(timeout=180) == 2
    assert reason in services.log_of(api)
    assert reason in services.log_of(worker)


def test_a_worker_follows_a_recreated_key_file_after_an_api_restart(
    services_factory, clip_path: Path
):
    services = services_factory()
    services.start_api()
    worker = services.start_worker()
    first = services.submit(clip_path, "motion")
    assert services.wait_for(first)["status"] == "completed"
    old_key = key_file(services).read_bytes()

    assert services.stop_api_cleanly()
    key_file(services).unlink()  # an operator rotates the key: the API makes a new one
    services.start_api()
    assert key_file(services).read_bytes() != old_key

    second = services.submit(clip_path, "motion")
    assert services.wait_for(second, timeout=180)["status"] == "completed"
    assert worker.poll() is None, "the same worker must have reconnected"
    log = services.log_of(worker)
    assert "refused our authkey" in log and "queue key changed on disk" in log
    assert services.stop(worker) == 0
