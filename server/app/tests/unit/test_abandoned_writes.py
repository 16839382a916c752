"""Which temporary files the sweep may delete: a job's by its owner, others by age."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.adapters.db.in_memory import InMemoryJobRepository
from app.domain.control import abandoned_write_rule
from app.domain.model import Job, JobStatus, new_job_id, utcnow

pytestmark = pytest.mark.unit
LEASE = timedelta(seconds=30)
IDLE = timedelta(minutes=15)
DAY_S = 24 * 3600.0


def job_in(jobs: InMemoryJobRepository, status: JobStatus, beat_ago_s: float | None) -> Job:
    job = Job(job_id=new_job_id(), pipeline_id="motion", input_path="x.mp4")
    beat = utcnow() - timedelta(seconds=beat_ago_s) if beat_ago_s is not None else None
    job = replace(job, status=status, heartbeat_at=beat)
    jobs.add(job)
    return job


def part_of(job: Job, export: str = "_tracks.vtt") -> str:
    return f".{job.job_id}{export}.k3j4h5.part"


def test_a_running_jobs_file_is_kept_however_long_it_sat_untouched():
    jobs = InMemoryJobRepository()
    running = job_in(jobs, JobStatus.RUNNING, beat_ago_s=1)
    rule = abandoned_write_rule(jobs, idle_after=IDLE, lease=LEASE)
    assert rule(part_of(running), DAY_S) is False
    assert rule(part_of(running, "_results.jsonl"), DAY_S) is False


def test_a_silent_workers_file_is_abandoned_once_the_lease_is_over():
    jobs = InMemoryJobRepository()
    silent = job_in(jobs, JobStatus.RUNNING, beat_ago_s=31)
    rule = abandoned_write_rule(jobs, idle_after=IDLE, lease=LEASE)
    assert rule(part_of(silent), 1.0) is True


@pytest.mark.parametrize(
    "status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.PENDING]
)
def test_a_file_of_a_job_no_worker_runs_is_abandoned_at_once(status: JobStatus):
    jobs = InMemoryJobRepository()
    stopped = job_in(jobs, status, beat_ago_s=1)
    rule = abandoned_write_rule(jobs, idle_after=IDLE, lease=LEASE)
    assert rule(part_of(stopped), 0.5) is True


def test_an_upload_and_a_file_of_a_job_not_yet_recorded_go_by_their_age():
    jobs = InMemoryJobRepository()
    rule = abandoned_write_rule(jobs, idle_after=IDLE, lease=LEASE)
    upload = ".upload-9f8e7d.part"
    unrecorded = f".{new_job_id()}.mp4.abc123.part"  # stored before its row is inserted
    for name in (upload, unrecorded):
        assert rule(name, 60.0) is False
        assert rule(name, IDLE.total_seconds() + 1) is True
