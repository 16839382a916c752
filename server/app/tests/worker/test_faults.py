"""Fault injection with real processes: kill -9, restarts, signals, several workers."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from app.tests.worker.conftest import FAST_RECOVERY

pytestmark = pytest.mark.worker


def test_killed_worker_job_runs_again_on_a_new_worker(
    services_factory, long_clip: Path, slow_pipeline_dir: Path
):
    services = services_factory(pipelines_dir=slow_pipeline_dir, **FAST_RECOVERY)
    services.start_api()
    first = services.start_worker()
    job_id = services.submit(long_clip, "slow")
    services.wait_for(job_id, {"running"})
    services.kill(first)  # kill -9 mid-job: no release, no goodbye

    second = services.start_worker()
    status = services.wait_for(job_id, timeout=120)
    assert status["status"] == "completed", status
    assert services.job_row(job_id).attempts == 2
    assert len(services.results(job_id)["results"]) == 400
    assert services.stop(second) == 0


def test_job_that_keeps_killing_workers_fails_after_max_attempts(
    services_factory, long_clip: Path, slow_pipeline_dir: Path
):
    services = services_factory(pipelines_dir=slow_pipeline_dir, max_attempts=2, **FAST_RECOVERY)
    services.start_api()
    job_id = services.submit(long_clip, "slow")
    for _ in range(2):
        worker = services.start_worker()
        services.wait_for(job_id, {"running"})
        services.kill(worker)
        services.wait_for(job_id, {"pending", "failed"}, timeout=30)
    status = services.wait_for(job_id, {"failed"}, timeout=30)
    assert "stopped responding" in status["error_message"]
    assert "attempt 2 of 2" in status["error_message"]


def test_api_restart_with_pending_jobs_completes_on_the_same_worker(
    services_factory, long_clip: Path, clip_path: Path, slow_pipeline_dir: Path
):
    services = services_factory(pipelines_dir=slow_pipeline_dir, **FAST_RECOVERY)
    api = services.start_api()
    worker = services.start_worker()
    busy = services.submit(long_clip, "slow")
    services.wait_for(busy, {"running"})
    waiting = [services.submit(clip_path, "motion") for _ in range(3)]

    services.kill(api)  # the in-memory queue and the ids in it are gone
    services.start_api()

    for job_id in [busy, *waiting]:
        assert services.wait_for(job_id, timeout=120)["status"] == "completed"
    assert worker.poll() is None, "the original worker must have kept running"
    assert sum(p.args[-1:] == ["app.workers.worker_runner"] for p in services.processes) == 1
    assert services.stop(worker) == 0


def test_two_workers_twenty_jobs_each_completes_exactly_once(services_factory, clip_path: Path):
    services = services_factory()
    services.start_api()
    workers = [services.start_worker(), services.start_worker()]
    job_ids = [services.submit(clip_path, "motion") for _ in range(20)]
    for job_id in job_ids:
        assert services.wait_for(job_id)["status"] == "completed"
    for worker in workers:
        assert services.stop(worker) == 0

    claims: Counter[str] = Counter()
    for worker in workers:
        claims.update(re.findall(r"job ([0-9a-f-]{36}): claimed", services.log_of(worker)))
    assert claims == Counter({job_id: 1 for job_id in job_ids})
    assert all(services.job_row(job_id).attempts == 1 for job_id in job_ids)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_releases_running_job_and_worker_exits_zero(
    services_factory, long_clip: Path, slow_pipeline_dir: Path, sig: int
):
    services = services_factory(pipelines_dir=slow_pipeline_dir, **FAST_RECOVERY)
    services.start_api()
    worker = services.start_worker()
    job_id = services.submit(long_clip, "slow")
    services.wait_for(job_id, {"running"})
    assert services.stop(worker, sig) == 0
    row = services.job_row(job_id)
    assert row.status.value == "pending" and row.attempts == 0

    replacement = services.start_worker()
    assert services.wait_for(job_id, timeout=120)["status"] == "completed"
    assert services.stop(replacement) == 0


def test_api_stops_cleanly_on_sigterm(services_factory):
    services = services_factory()
    services.start_api()
    assert services.stop_api_cleanly()
