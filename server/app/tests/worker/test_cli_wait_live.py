"""`video-jobs wait` against real processes: it outlives an API restart."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.worker


def test_wait_rides_out_an_api_restart_and_ends_with_the_job(services_factory, clip_path: Path):
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip_path, "quality")  # no worker yet: the job stays pending
    url = f"http://127.0.0.1:{services.api_port}"
    waiting = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--url", url, "wait", job_id, "--retry-for", "120"],
        env=services.env,
        cwd=services.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # it is polling a pending job
        assert services.stop_api_cleanly()
        time.sleep(2.0)  # connections are refused meanwhile
        assert waiting.poll() is None, waiting.communicate()
        services.start_api()
        services.start_worker()
        out, err = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0 and out == "", err  # messages go to stderr
    assert f"job {job_id} completed" in err
    assert services.status(job_id)["status"] == "completed"
