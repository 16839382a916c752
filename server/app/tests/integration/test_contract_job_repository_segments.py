"""The JobRepository contract for split jobs (domain/segment_runs.py), on every adapter:
in-memory, SQLite, PostgreSQL (part of test_contract_job_repository's suite)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from app.domain.model import Job, JobStatus, SplitState
from app.domain.ports import JobRepository
from app.domain.segments import SegmentRange, segment_jobs
from app.tests.helpers import stored_job
from app.tests.integration.test_contract_job_repository import SECOND, T0, added, claim

PENDING, RUNNING = JobStatus.PENDING, JobStatus.RUNNING
COMPLETED, CANCELED = JobStatus.COMPLETED, JobStatus.CANCELED


def split_parent(repo: JobRepository, count: int = 3) -> tuple[Job, list[Job]]:
    parent = claim(repo, added(repo))
    assert parent is not None
    ranges = [SegmentRange(i, i * 10.0, i * 10.0 + 13, None) for i in range(count)]
    segments = segment_jobs(parent, ranges)
    assert repo.split(parent.job_id, parent.attempts, segments, T0 + 2 * SECOND) is not None
    return stored_job(repo, parent.job_id), segments


def complete(repo: JobRepository, segment: Job) -> Job | None:
    running = repo.transition(segment.job_id, PENDING, RUNNING, now=T0, attempts_delta=1)
    assert running is not None
    return repo.transition(
        segment.job_id, RUNNING, COMPLETED, now=T0 + 3 * SECOND, attempt=running.attempts
    )


def test_split_inserts_the_segments_and_marks_the_parent_at_once(repo: JobRepository) -> None:
    parent, segments = split_parent(repo)
    assert parent.status is RUNNING and parent.split_state == SplitState.SEGMENTS
    assert (parent.segments_total, parent.segments_completed) == (3, 0)
    stored = repo.segments(parent.job_id)
    assert [s.job_id for s in stored] == [s.job_id for s in segments]
    assert [(s.segment_index, s.segments_total, s.status) for s in stored] == [
        (0, 3, PENDING),
        (1, 3, PENDING),
        (2, 3, PENDING),
    ]
    assert stored[1].options is not None and stored[1].options["start_s"] == 10.0


def test_a_lost_claim_splits_nothing(repo: JobRepository) -> None:
    parent = claim(repo, added(repo))
    assert parent is not None
    segments = segment_jobs(parent, [SegmentRange(0, 0.0, 13.0, 10.0)])
    assert repo.split(parent.job_id, parent.attempts + 1, segments, T0) is None
    assert repo.segments(parent.job_id) == [] and repo.get(segments[0].job_id) is None
    assert stored_job(repo, parent.job_id).split_state is None


def test_the_last_segment_completed_moves_the_parent_to_merge(repo: JobRepository) -> None:
    parent, segments = split_parent(repo)
    complete(repo, segments[0])
    complete(repo, segments[2])
    middle = stored_job(repo, parent.job_id)
    assert (middle.segments_completed, middle.split_state) == (2, SplitState.SEGMENTS)
    assert repo.merges_waiting(T0 + 10 * SECOND) == []
    complete(repo, segments[1])
    done = stored_job(repo, parent.job_id)
    assert (done.segments_completed, done.split_state) == (3, SplitState.MERGE)
    assert done.status is RUNNING
    assert repo.merges_waiting(T0 + 10 * SECOND) == [parent.job_id]
    assert repo.merges_waiting(T0) == []  # only those waiting since before the cutoff


def test_concurrent_completions_are_each_counted_once(repo: JobRepository) -> None:
    parent, segments = split_parent(repo, count=8)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda s: complete(repo, s), segments))
    done = stored_job(repo, parent.job_id)
    assert (done.segments_completed, done.split_state) == (8, SplitState.MERGE)


def test_a_segment_of_a_canceled_parent_is_not_counted(repo: JobRepository) -> None:
    parent, segments = split_parent(repo, count=1)
    assert repo.transition(parent.job_id, RUNNING, CANCELED, now=T0) is not None
    complete(repo, segments[0])
    assert stored_job(repo, parent.job_id).segments_completed == 0
    assert repo.claim_merge(parent.job_id, T0) is None


def test_waiting_parents_are_never_stale_but_a_silent_merge_is(repo: JobRepository) -> None:
    parent, segments = split_parent(repo, count=1)
    later = T0 + 3600 * SECOND
    assert repo.stale_running(later) == []  # only its pending segment: no worker to lose
    complete(repo, segments[0])
    assert repo.stale_running(later) == []  # waits in the queue for a merge worker
    merging = repo.claim_merge(parent.job_id, T0 + 4 * SECOND)
    assert merging is not None and merging.split_state == SplitState.MERGING
    assert [j.job_id for j in repo.stale_running(later)] == [parent.job_id]


def test_exactly_one_worker_claims_a_merge(repo: JobRepository) -> None:
    parent, segments = split_parent(repo, count=1)
    assert repo.claim_merge(parent.job_id, T0) is None  # its segment is not done yet
    complete(repo, segments[0])
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: repo.claim_merge(parent.job_id, T0), range(8)))
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].attempts == parent.attempts + 1
    assert repo.heartbeat(parent.job_id, won[0].attempts, T0 + SECOND)  # its lease


def test_a_released_merge_waits_again(repo: JobRepository) -> None:
    parent, segments = split_parent(repo, count=1)
    complete(repo, segments[0])
    merging = repo.claim_merge(parent.job_id, T0 + 4 * SECOND)
    assert merging is not None
    # A sweep takes it only from a silent worker; the worker's own release needs its claim.
    assert repo.release_merge(parent.job_id, T0, heartbeat_before=T0) is None
    assert repo.release_merge(parent.job_id, T0, attempt=merging.attempts + 1) is None
    released = repo.release_merge(parent.job_id, T0 + 5 * SECOND, attempt=merging.attempts)
    assert released is not None and released.split_state == SplitState.MERGE
    assert released.attempts == merging.attempts - 1  # a hand-back costs no attempt
    again = repo.claim_merge(parent.job_id, T0 + 6 * SECOND)
    assert again is not None
    swept = repo.release_merge(parent.job_id, T0, heartbeat_before=T0 + 7 * SECOND)
    assert swept is not None and swept.attempts == again.attempts  # a lost worker's counts


def test_listings_hide_segments_unless_asked(repo: JobRepository) -> None:
    parent, segments = split_parent(repo, count=2)
    other = added(repo)
    assert {j.job_id for j in repo.list_jobs()} == {parent.job_id, other.job_id}
    assert repo.count_jobs() == 2 and repo.count_jobs(status=PENDING) == 1
    everything = repo.list_jobs(include_segments=True)
    assert {j.job_id for j in everything} == {parent.job_id, other.job_id} | {
        s.job_id for s in segments
    }
    assert repo.count_jobs(include_segments=True) == 4
    assert repo.count_jobs(status=PENDING, include_segments=True) == 3


def test_segments_are_counted_by_status(repo: JobRepository) -> None:
    _parent, segments = split_parent(repo, count=3)
    complete(repo, segments[0])
    counts = repo.count_segments_by_status()
    assert counts[COMPLETED] == 1 and counts[PENDING] == 2 and counts[RUNNING] == 0
    assert repo.segments(uuid.uuid4()) == []
