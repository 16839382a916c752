"""A decoder that hangs for real: the job's stored video is replaced by a named pipe
nobody writes to, so opening it blocks the worker's job thread in the kernel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.tests.worker.conftest import FAST_RECOVERY

pytestmark = pytest.mark.worker

RESTARTED = "starting afresh as a new worker process"


def test_a_hung_decode_is_abandoned_and_the_same_worker_takes_the_next_job(
    services_factory, clip_path: Path
):
    services = services_factory(stall_timeout_s=2, max_attempts=2, **FAST_RECOVERY)
    services.start_api()
    hung = services.submit(clip_path, "quality")
    stored = services.data_dir / "video_jobs" / f"{hung}.mp4"
    stored.unlink()
    os.mkfifo(stored)  # opening it for reading blocks until a writer comes: never

    worker = services.start_worker()
    status = services.wait_for(hung, timeout=120)
    assert status["status"] == "failed", status
    assert "attempt 2 of 2" in status["error_message"], status
    assert services.job_row(hung).attempts == 2

    # Both attempts hung the worker; each time it started afresh, as the same process.
    assert worker.poll() is None, services.log_of(worker)
    assert services.log_of(worker).count(RESTARTED) == 2
    fine = services.submit(clip_path, "quality")
    assert services.wait_for(fine)["status"] == "completed"
    assert worker.poll() is None
    assert services.stop(worker) == 0
