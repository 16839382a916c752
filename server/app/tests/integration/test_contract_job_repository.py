"""The JobRepository contract, run against every adapter: in-memory, SQLite, PostgreSQL.

The in-memory repository that unit tests lean on must pass exactly the cases the SQL
one passes, or it proves nothing about the real system.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from app.domain.errors import InvalidTransition
from app.domain.model import Job, JobStatus
from app.domain.ports import JobRepository
from app.tests.helpers import stored_job

PENDING, RUNNING = JobStatus.PENDING, JobStatus.RUNNING
COMPLETED, FAILED = JobStatus.COMPLETED, JobStatus.FAILED
T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
SECOND = timedelta(seconds=1)
CLAIMERS = 8


def make_job(
    created_at: datetime = T0,
    *,
    status: JobStatus = PENDING,
    updated_at: datetime | None = None,
    attempts: int = 0,
    heartbeat_at: datetime | None = None,
) -> Job:
    job_id = uuid.uuid4()
    return Job(
        job_id=job_id,
        pipeline_id="motion",
        input_path=f"video_jobs/{job_id}.mp4",
        status=status,
        created_at=created_at,
        updated_at=updated_at or created_at,
        attempts=attempts,
        heartbeat_at=heartbeat_at,
    )


def added(repo: JobRepository, *args, **kwargs) -> Job:
    job = make_job(*args, **kwargs)
    repo.add(job)
    return job


def claim(repo: JobRepository, job: Job, now: datetime = T0 + SECOND) -> Job | None:
    return repo.transition(job.job_id, PENDING, RUNNING, now=now, attempts_delta=1)


def test_added_job_reads_back_identical_with_utc_datetimes(repo: JobRepository) -> None:
    job = added(repo, status=RUNNING, attempts=2, heartbeat_at=T0 + SECOND)
    loaded = stored_job(repo, job.job_id)
    assert loaded == job
    for stamp in (loaded.created_at, loaded.updated_at, loaded.heartbeat_at):
        assert stamp is not None and stamp.utcoffset() == timedelta(0)


def test_get_of_an_unknown_id_returns_none(repo: JobRepository) -> None:
    assert repo.get(uuid.uuid4()) is None


def test_adding_an_existing_id_is_refused_and_keeps_the_first(repo: JobRepository) -> None:
    job = added(repo)
    with pytest.raises((ValueError, IntegrityError)):
        repo.add(Job(job_id=job.job_id, pipeline_id="quality", input_path="other"))
    assert repo.get(job.job_id) == job


def test_claim_counts_an_attempt_and_starts_the_heartbeat(repo: JobRepository) -> None:
    job = added(repo)
    now = T0 + 5 * SECOND
    running = claim(repo, job, now)
    assert running is not None
    assert (running.status, running.attempts) == (RUNNING, 1)
    assert running.heartbeat_at == now and running.updated_at == now
    assert running.created_at == job.created_at
    assert repo.get(job.job_id) == running


def test_transition_records_output_path_and_error_message(repo: JobRepository) -> None:
    done, failed = added(repo), added(repo)
    for job in (done, failed):
        claim(repo, job)
    now = T0 + 9 * SECOND
    result = repo.transition(done.job_id, RUNNING, COMPLETED, now=now, output_path="video_jobs/r")
    assert result is not None
    assert (result.status, result.output_path, result.error_message) == (
        COMPLETED,
        "video_jobs/r",
        None,
    )
    result = repo.transition(failed.job_id, RUNNING, FAILED, now=now, error_message="bad video")
    assert result is not None
    assert (result.status, result.error_message, result.output_path) == (FAILED, "bad video", None)
    assert stored_job(repo, failed.job_id).error_message == "bad video"
    assert stored_job(repo, done.job_id).updated_at == now


@pytest.mark.parametrize(
    ("current", "new"),
    [(PENDING, COMPLETED), (COMPLETED, RUNNING), (FAILED, PENDING), (RUNNING, RUNNING)],
)
def test_a_transition_the_state_machine_forbids_raises(
    repo: JobRepository, current: JobStatus, new: JobStatus
) -> None:
    job = added(repo, status=current)
    with pytest.raises(InvalidTransition):
        repo.transition(job.job_id, current, new, now=T0 + SECOND)
    assert repo.get(job.job_id) == job


def test_transition_from_the_wrong_expected_status_returns_none(repo: JobRepository) -> None:
    job = added(repo)
    assert repo.transition(job.job_id, RUNNING, COMPLETED, now=T0 + SECOND) is None
    assert repo.get(job.job_id) == job
    assert claim(repo, make_job()) is None  # never added


def test_claim_by_many_threads_has_exactly_one_winner(repo: JobRepository) -> None:
    for _round in range(3):
        job = added(repo)
        barrier = threading.Barrier(CLAIMERS)

        def contend(_: int, job: Job = job, barrier: threading.Barrier = barrier) -> Job | None:
            barrier.wait(timeout=30)
            return claim(repo, job)

        with ThreadPoolExecutor(CLAIMERS) as pool:
            outcomes = list(pool.map(contend, range(CLAIMERS)))
        assert sum(outcome is not None for outcome in outcomes) == 1
        assert stored_job(repo, job.job_id).attempts == 1


def test_attempt_fences_a_worker_to_its_own_claim(repo: JobRepository) -> None:
    job = added(repo)
    claim(repo, job)
    stale = repo.transition(job.job_id, RUNNING, COMPLETED, now=T0 + SECOND, attempt=2)
    assert stale is None
    assert stored_job(repo, job.job_id).status is RUNNING
    done = repo.transition(job.job_id, RUNNING, COMPLETED, now=T0 + SECOND, attempt=1)
    assert done is not None and done.status is COMPLETED


def test_release_hands_back_the_attempt(repo: JobRepository) -> None:
    job = added(repo)
    claim(repo, job)
    released = repo.transition(
        job.job_id, RUNNING, PENDING, now=T0 + 2 * SECOND, attempt=1, attempts_delta=-1
    )
    assert released is not None
    assert (released.status, released.attempts) == (PENDING, 0)
    reclaimed = claim(repo, job)
    assert reclaimed is not None and reclaimed.attempts == 1


def test_heartbeat_before_takes_only_jobs_with_an_older_heartbeat(repo: JobRepository) -> None:
    beat = T0 + 10 * SECOND
    job = added(repo, status=RUNNING, attempts=1, heartbeat_at=beat)
    assert repo.transition(job.job_id, RUNNING, PENDING, now=beat, heartbeat_before=beat) is None
    assert stored_job(repo, job.job_id).status is RUNNING
    taken = repo.transition(job.job_id, RUNNING, PENDING, now=beat, heartbeat_before=beat + SECOND)
    assert taken is not None and taken.status is PENDING
    never_beat = added(repo)
    assert (
        repo.transition(never_beat.job_id, PENDING, FAILED, now=beat, heartbeat_before=beat) is None
    )


def test_heartbeat_is_recorded_only_for_the_claim_holder(repo: JobRepository) -> None:
    job = added(repo)
    claim(repo, job, T0 + SECOND)
    later = T0 + 7 * SECOND
    assert repo.heartbeat(job.job_id, 1, later) is True
    assert stored_job(repo, job.job_id).heartbeat_at == later
    assert repo.heartbeat(job.job_id, 2, later + SECOND) is False
    assert stored_job(repo, job.job_id).heartbeat_at == later
    assert repo.heartbeat(uuid.uuid4(), 1, later) is False
    assert repo.heartbeat(added(repo).job_id, 0, later) is False  # pending: nobody holds it
    repo.transition(job.job_id, RUNNING, COMPLETED, now=later)
    assert repo.heartbeat(job.job_id, 1, later + SECOND) is False


def test_list_ids_filters_by_status_and_updated_before_oldest_first(repo: JobRepository) -> None:
    newer = added(repo, T0 + 2 * SECOND)
    older = added(repo, T0)
    cutoff_equal = added(repo, T0 + SECOND)
    added(repo, T0 - SECOND, status=RUNNING, attempts=1, heartbeat_at=T0)
    assert repo.list_ids(PENDING) == [older.job_id, cutoff_equal.job_id, newer.job_id]
    assert repo.list_ids(PENDING, updated_before=T0 + SECOND) == [
        older.job_id,
        cutoff_equal.job_id,
    ]
    assert repo.list_ids(PENDING, limit=1) == [older.job_id]
    assert repo.list_ids(COMPLETED) == []


def test_stale_running_returns_running_jobs_with_an_older_heartbeat(repo: JobRepository) -> None:
    cutoff = T0 + 60 * SECOND
    stale = added(repo, status=RUNNING, attempts=1, heartbeat_at=cutoff - SECOND)
    added(repo, status=RUNNING, attempts=1, heartbeat_at=cutoff)  # exactly at the cutoff: alive
    added(repo, status=RUNNING, attempts=1, heartbeat_at=cutoff + SECOND)
    added(repo, status=FAILED, attempts=1, heartbeat_at=T0)
    added(repo)
    assert repo.stale_running(cutoff) == [stale]
    assert repo.stale_running(cutoff + 2 * SECOND, limit=1) == [stale]


def test_list_jobs_is_newest_first_with_filter_limit_and_offset(repo: JobRepository) -> None:
    jobs = [added(repo, T0 + i * SECOND) for i in range(5)]
    claim(repo, jobs[1])
    claim(repo, jobs[3])
    ids = [job.job_id for job in jobs]
    assert [j.job_id for j in repo.list_jobs()] == ids[::-1]
    assert [j.job_id for j in repo.list_jobs(status=RUNNING)] == [ids[3], ids[1]]
    assert [j.job_id for j in repo.list_jobs(status=PENDING)] == [ids[4], ids[2], ids[0]]
    assert [j.job_id for j in repo.list_jobs(limit=2, offset=1)] == [ids[3], ids[2]]
    assert repo.list_jobs(offset=5) == []


def test_count_by_status_reports_every_status(repo: JobRepository) -> None:
    assert repo.count_by_status() == dict.fromkeys(JobStatus, 0)
    for _ in range(3):
        added(repo)
    claim(repo, added(repo))
    added(repo, status=FAILED)
    expected = dict.fromkeys(JobStatus, 0) | {PENDING: 3, RUNNING: 1, FAILED: 1}
    assert repo.count_by_status() == expected


def test_ping_succeeds_on_a_reachable_store(repo: JobRepository) -> None:
    assert repo.ping() is None


def test_list_and_count_jobs_filter_by_exact_tag(repo: JobRepository) -> None:
    tags = ["street", "Street", None, "street", "street cam"]
    ids = []
    for i, tag in enumerate(tags):
        job = replace(make_job(T0 + i * SECOND), tag=tag, filename=f"{i}.mp4")
        repo.add(job)
        ids.append(job.job_id)
    claim(repo, stored_job(repo, ids[3]))
    assert [j.job_id for j in repo.list_jobs(tag="street")] == [ids[3], ids[0]]
    assert [j.job_id for j in repo.list_jobs(tag="street", status=PENDING)] == [ids[0]]
    assert [j.job_id for j in repo.list_jobs(tag="street", limit=1, offset=1)] == [ids[0]]
    assert repo.list_jobs(tag="stree") == []
    assert (repo.count_jobs(), repo.count_jobs(tag="street"), repo.count_jobs(tag="x")) == (5, 2, 0)
    assert repo.count_jobs(tag="street", status=RUNNING) == 1
    assert stored_job(repo, ids[4]).filename == "4.mp4"


def test_extra_events_enter_the_outbox_with_the_completion(repo: JobRepository) -> None:
    job = replace(make_job(), callback_url="http://example.test/hook")
    repo.add(job)
    running = claim(repo, job)
    assert running is not None
    repo.transition(
        job.job_id,
        RUNNING,
        COMPLETED,
        now=T0 + 2 * SECOND,
        attempt=running.attempts,
        extra_events=['{"event": "zone.events"}'],
    )
    payloads = [d.payload for d in repo.webhook_deliveries(job.job_id)]
    assert len(payloads) == 2 and payloads[0] == '{"event": "zone.events"}'
    assert '"job.completed"' in payloads[1]
