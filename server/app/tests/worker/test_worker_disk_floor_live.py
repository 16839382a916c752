"""The worker's outputs respect VIDEO_JOBS_MIN_FREE_BYTES, against real processes: the
API accepts the upload (its own floor is off), the worker's floor is above the free
space of the test's filesystem, so its first check trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.worker


def test_a_worker_under_the_free_space_floor_fails_the_job_and_keeps_no_files(
    services_factory, clip_path: Path
):
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip_path, "quality")
    floor = shutil.disk_usage(services.data_dir).free + (1 << 30)
    services.env["VIDEO_JOBS_MIN_FREE_BYTES"] = str(floor)  # this worker only
    worker = services.start_worker()

    status = services.wait_for(job_id)
    assert status["status"] == "failed", status
    assert "the server is low on disk space" in status["error_message"]
    assert f"VIDEO_JOBS_MIN_FREE_BYTES={floor}" in status["error_message"]
    left = sorted(p.name for p in (services.data_dir / "video_jobs").iterdir())
    assert left == [f"{job_id}.mp4"], left  # no results, exports or .part files
    assert worker.poll() is None  # the worker goes on
    assert services.stop(worker) == 0
