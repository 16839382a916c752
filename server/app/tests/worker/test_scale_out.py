"""Beyond one machine: PostgreSQL job store + Redis queue, an API and three workers.

Runs when VIDEO_JOBS_TEST_POSTGRES_URL and VIDEO_JOBS_TEST_REDIS_URL are set (`.ci/run`
sets both to the machine's servers).
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest

from app.tests.integration.conftest import postgres_schema_url
from app.tests.worker.conftest import FAST_RECOVERY

POSTGRES = os.environ.get("VIDEO_JOBS_TEST_POSTGRES_URL")
REDIS = os.environ.get("VIDEO_JOBS_TEST_REDIS_URL")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not (POSTGRES and REDIS), reason="needs PostgreSQL and Redis test URLs"),
]


def test_three_workers_on_postgres_and_redis_complete_thirty_jobs_once_despite_a_kill(
    services_factory, clip_path: Path, long_clip: Path, slow_pipeline_dir: Path
):
    assert POSTGRES is not None  # the module is skipped without it
    with postgres_schema_url(POSTGRES) as database_url:
        services = services_factory(
            database_url=database_url,
            queue_url=REDIS,
            queue_name=f"vj-test-{uuid.uuid4().hex[:8]}",
            pipelines_dir=slow_pipeline_dir,
            **FAST_RECOVERY,
        )
        services.start_api()
        workers = [services.start_worker() for _ in range(3)]
        victim_job = services.submit(long_clip, "slow")
        running = services.wait_for(victim_job, {"running"})
        assert running["status"] == "running"
        job_ids = [services.submit(clip_path, "motion") for _ in range(29)]

        holder = next(w for w in workers if f"job {victim_job}: claimed" in services.log_of(w))
        services.kill(holder)

        for job_id in [victim_job, *job_ids]:
            assert services.wait_for(job_id, timeout=180)["status"] == "completed"
        survivors = [w for w in workers if w is not holder]
        for worker in survivors:
            assert services.stop(worker) == 0

        completions: Counter[str] = Counter()
        for worker in workers:
            completions.update(
                re.findall(r"job ([0-9a-f-]{36}) completed", services.log_of(worker))
            )
        assert completions == Counter({job_id: 1 for job_id in [victim_job, *job_ids]})
        assert services.job_row(victim_job).attempts == 2
        assert all(services.job_row(job_id).attempts == 1 for job_id in job_ids)
        assert services.stop_api_cleanly()
