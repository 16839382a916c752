"""Domain services with fakes: what submit, run, release and the sweeps promise."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from app.adapters.db.in_memory import InMemoryJobRepository
from app.adapters.queue.in_memory import InProcessQueue
from app.domain.errors import (
    InvalidTransition,
    InvalidUpload,
    JobNotCompleted,
    JobNotFound,
    PipelineInterrupted,
    QueueUnavailable,
    UnknownPipeline,
    UploadTooLarge,
    VideoDecodeError,
)
from app.domain.job_runs import release_job, run_claimed_job
from app.domain.model import Job, JobStatus, check_transition, input_key, results_key, utcnow
from app.domain.recovery import recover_stale_jobs, requeue_pending
from app.domain.results_writer import encode_results
from app.domain.services import claim_job, get_results, iter_chunks
from app.tests.unit.conftest import FRAMES, MP4_BYTES, MP4_HEADER, VIDEO, FakeRunner, submit

pytestmark = pytest.mark.unit
PENDING, RUNNING = JobStatus.PENDING, JobStatus.RUNNING
COMPLETED, FAILED = JobStatus.COMPLETED, JobStatus.FAILED


class DownQueue(InProcessQueue):
    """A queue whose server is away: every put fails."""

    def put(self, job_id: uuid.UUID) -> None:
        raise QueueUnavailable("queue at 127.0.0.1:1 unreachable")


class BrokenRepository(InMemoryJobRepository):
    def add(self, job: Job) -> None:
        raise RuntimeError("database is locked")

    def transition(self, *args, **kwargs):
        raise RuntimeError("database is locked")


def assert_nothing_recorded(jobs, queue, storage) -> None:
    assert storage.files == {}
    assert sum(jobs.count_by_status().values()) == 0
    assert queue.size() == 0


def test_submit_stores_the_upload_records_a_pending_job_and_enqueues_its_id(
    jobs, queue, storage, runner
) -> None:
    job = submit(jobs, queue, storage, runner, chunks=[MP4_BYTES[:5], MP4_BYTES[5:]])
    assert job.job_id.version == 4
    assert (job.status, job.pipeline_id, job.attempts) == (PENDING, "quality", 0)
    assert storage.files == {f"{job.job_id}.mp4": MP4_BYTES}
    assert jobs.get(job.job_id) == job
    assert job.input_path == f"video_jobs/{job.job_id}.mp4"
    assert queue.shared.snapshot() == [str(job.job_id)]


def test_a_file_that_is_only_the_mp4_header_is_accepted_at_submit(
    jobs, queue, storage, runner
) -> None:
    job = submit(jobs, queue, storage, runner, chunks=[MP4_HEADER[:3], MP4_HEADER[3:]])
    assert storage.load_file(f"{job.job_id}.mp4") == MP4_HEADER


@pytest.mark.parametrize("chunks", [[], [b""]], ids=["no-chunks", "empty-chunk"])
def test_an_empty_upload_is_invalid(jobs, queue, storage, runner, chunks) -> None:
    with pytest.raises(InvalidUpload, match="empty"):
        submit(jobs, queue, storage, runner, chunks=chunks)
    assert_nothing_recorded(jobs, queue, storage)


@pytest.mark.parametrize(
    "data", [b"GIF89a" + bytes(64), b"\x00\x00\x00\x18ftyq" + bytes(64), b"\x00\x00\x00\x18ft"]
)
def test_an_upload_without_ftyp_at_byte_4_is_invalid(jobs, queue, storage, runner, data) -> None:
    with pytest.raises(InvalidUpload, match="MP4"):
        submit(jobs, queue, storage, runner, chunks=[data])
    assert_nothing_recorded(jobs, queue, storage)


def test_an_unknown_pipeline_lists_the_valid_ids_and_stores_nothing(
    jobs, queue, storage, runner
) -> None:
    consumed: list[bytes] = []

    def chunks():
        consumed.append(MP4_BYTES)
        yield MP4_BYTES

    with pytest.raises(UnknownPipeline) as raised:
        submit(jobs, queue, storage, runner, chunks=chunks(), pipeline_id="nope")
    assert raised.value.known == ["motion", "quality"]
    assert "'nope'" in str(raised.value) and "motion, quality" in str(raised.value)
    assert consumed == []
    assert_nothing_recorded(jobs, queue, storage)


def test_an_upload_over_the_limit_stores_nothing(jobs, queue, storage, runner) -> None:
    with pytest.raises(UploadTooLarge):
        submit(jobs, queue, storage, runner, max_bytes=len(MP4_BYTES) - 1)
    assert_nothing_recorded(jobs, queue, storage)


def test_a_failed_enqueue_still_returns_a_pending_job(jobs, storage, runner) -> None:
    job = submit(jobs, DownQueue(), storage, runner)
    assert jobs.get(job.job_id).status is PENDING
    assert storage.exists(f"{job.job_id}.mp4")


def test_a_failed_insert_removes_the_stored_upload(queue, storage, runner) -> None:
    with pytest.raises(RuntimeError):
        submit(BrokenRepository(), queue, storage, runner)
    assert storage.files == {}
    assert queue.size() == 0


def test_iter_chunks_never_reads_more_than_the_chunk_size() -> None:
    source = io.BytesIO(bytes(range(256)) * 10)
    asked: list[int] = []

    def read(size: int) -> bytes:
        asked.append(size)
        return source.read(size)

    assert b"".join(iter_chunks(read, size=1000)) == bytes(range(256)) * 10
    assert set(asked) == {1000}


@pytest.fixture
def claimed(jobs, queue, storage, runner) -> Job:
    job = claim_job(jobs, submit(jobs, queue, storage, runner).job_id)
    assert job is not None and job.attempts == 1
    return job


def run(job: Job, jobs, storage, runner, **kw) -> JobStatus:
    return run_claimed_job(job, jobs=jobs, storage=storage, runner=runner, **kw)


def test_a_successful_run_completes_the_job_with_its_results_document(
    claimed, jobs, storage, runner
) -> None:
    assert run(claimed, jobs, storage, runner) is COMPLETED
    job = jobs.get(claimed.job_id)
    key = f"{job.job_id}_results.json"
    assert (job.status, job.output_path, job.error_message) == (
        COMPLETED,
        f"video_jobs/{key}",
        None,
    )
    document = json.loads(storage.load_file(key))
    assert document == {
        "job_id": str(job.job_id),
        "pipeline_id": "quality",
        "video": VIDEO,
        "warnings": [],
        "results": FRAMES,
    }
    assert runner.calls == [(storage.local_path(f"{job.job_id}.mp4"), "quality")]


def test_an_undecodable_video_fails_the_job_with_the_decoder_message(
    claimed, jobs, storage
) -> None:
    runner = FakeRunner(error=VideoDecodeError("the video could not be opened"))
    assert run(claimed, jobs, storage, runner) is FAILED
    job = jobs.get(claimed.job_id)
    assert (job.status, job.error_message) == (FAILED, "the video could not be opened")
    assert storage.files.keys() == {f"{job.job_id}.mp4"}  # no results file of any kind


def test_an_unexpected_error_fails_the_job_as_an_internal_error(claimed, jobs, storage) -> None:
    assert run(claimed, jobs, storage, FakeRunner(error=ZeroDivisionError("oops"))) is FAILED
    message = jobs.get(claimed.job_id).error_message
    assert "internal error" in message and "oops" in message


def test_an_interrupted_run_propagates_and_leaves_the_job_running(
    claimed, jobs, storage, runner
) -> None:
    with pytest.raises(PipelineInterrupted):
        run(claimed, jobs, storage, runner, should_stop=lambda: True)
    assert jobs.get(claimed.job_id).status is RUNNING


def test_a_worker_that_lost_its_claim_leaves_the_new_holders_job_alone(
    claimed, jobs, storage
) -> None:
    def sweep_and_reclaim() -> None:
        later = utcnow() + timedelta(hours=1)
        jobs.transition(claimed.job_id, RUNNING, PENDING, now=later, heartbeat_before=later)
        claim_job(jobs, claimed.job_id)

    for error in (None, VideoDecodeError("bad video")):
        runner = FakeRunner(error=error, during_run=sweep_and_reclaim)
        run(claimed, jobs, storage, runner)
        job = jobs.get(claimed.job_id)
        assert (job.status, job.output_path, job.error_message) == (RUNNING, None, None)
        assert storage.files.keys() == {f"{job.job_id}.mp4"}  # the results were removed


def test_encode_results_turns_numpy_values_into_plain_json(claimed) -> None:
    frame = {"ratio": np.float32(0.5), "count": np.int64(3), "cut": np.bool_(True)}
    frame["box"] = np.array([1, 2, 3, 4], dtype=np.int32)
    document = json.loads(encode_results(claimed, {"fps": np.float64(25.0)}, [frame]))
    assert document["results"] == [{"ratio": 0.5, "count": 3, "cut": True, "box": [1, 2, 3, 4]}]
    assert document["video"] == {"fps": 25.0}
    assert set(document) == {"job_id", "pipeline_id", "video", "warnings", "results"}


def test_encode_results_refuses_values_it_cannot_represent(claimed) -> None:
    with pytest.raises(TypeError, match="object"):
        encode_results(claimed, {}, [{"bad": object()}])


def test_results_are_the_document_plus_the_jobs_timestamps(claimed, jobs, storage, runner) -> None:
    with pytest.raises(JobNotFound):
        get_results(jobs, storage, uuid.uuid4())
    with pytest.raises(JobNotCompleted, match="running"):
        get_results(jobs, storage, claimed.job_id)
    run(claimed, jobs, storage, runner)
    job = jobs.get(claimed.job_id)
    results = get_results(jobs, storage, job.job_id)
    assert {key: results[key] for key in ("job_id", "pipeline_id", "video", "results")} == {
        "job_id": str(job.job_id),
        "pipeline_id": "quality",
        "video": VIDEO,
        "results": FRAMES,
    }
    assert (results["created_at"], results["updated_at"]) == (job.created_at, job.updated_at)


def test_release_returns_the_job_to_pending_and_requeues_it(claimed, jobs, queue) -> None:
    queue.get(timeout=0)  # the id from submit was taken by this worker
    release_job(jobs, queue, claimed)
    job = jobs.get(claimed.job_id)
    assert (job.status, job.attempts) == (PENDING, 0)
    assert queue.shared.snapshot() == [str(job.job_id)]


def test_release_of_a_job_no_longer_held_changes_nothing(claimed, jobs, queue) -> None:
    queue.get(timeout=0)
    jobs.transition(claimed.job_id, RUNNING, PENDING, now=utcnow(), attempt=1)
    claim_job(jobs, claimed.job_id)  # another worker, attempt 2
    release_job(jobs, queue, claimed)
    assert (jobs.get(claimed.job_id).status, jobs.get(claimed.job_id).attempts) == (RUNNING, 2)
    assert queue.size() == 0


def test_release_survives_a_database_failure(claimed, queue) -> None:
    queue.get(timeout=0)
    release_job(BrokenRepository(), queue, claimed)
    assert queue.size() == 0


def pending_job(jobs, *, age: timedelta = timedelta(0), status: JobStatus = PENDING) -> Job:
    stamp = utcnow() - age
    job = Job(uuid.uuid4(), "motion", "video_jobs/x.mp4", status, stamp, stamp)
    jobs.add(job)
    return job


def test_requeue_enqueues_pending_jobs_missing_from_the_queue(jobs, queue) -> None:
    queued, missing = pending_job(jobs), pending_job(jobs)
    pending_job(jobs, status=FAILED)
    queue.put(queued.job_id)
    assert requeue_pending(jobs, queue) == 1
    assert queue.shared.snapshot() == [str(queued.job_id), str(missing.job_id)]


def test_requeue_leaves_recently_updated_jobs_alone(jobs, queue) -> None:
    old = pending_job(jobs, age=timedelta(hours=2))
    pending_job(jobs)
    assert requeue_pending(jobs, queue, older_than=timedelta(hours=1)) == 1
    assert queue.queued_ids() == {old.job_id}


def test_requeue_counts_only_ids_that_reached_the_queue(jobs) -> None:
    pending_job(jobs)
    assert requeue_pending(jobs, DownQueue()) == 0


def test_recovery_requeues_or_fails_silent_jobs_and_spares_live_ones(jobs, queue) -> None:
    now = utcnow()
    lease = timedelta(seconds=30)

    def running(attempts: int, beat_age: timedelta) -> Job:
        job = Job(uuid.uuid4(), "motion", "video_jobs/x.mp4", RUNNING, now, now)
        job = replace(job, attempts=attempts, heartbeat_at=now - beat_age)
        jobs.add(job)
        return job

    retry = running(1, timedelta(minutes=2))
    spent = running(3, timedelta(minutes=2))
    alive = running(1, timedelta(seconds=1))
    assert recover_stale_jobs(jobs, queue, lease=lease, max_attempts=3, now=now) == (1, 1)
    assert (jobs.get(retry.job_id).status, jobs.get(retry.job_id).attempts) == (PENDING, 1)
    assert queue.shared.snapshot() == [str(retry.job_id)]
    failed = jobs.get(spent.job_id)
    assert failed.status is FAILED
    assert "stopped responding" in failed.error_message
    assert "attempt 3 of 3" in failed.error_message
    assert jobs.get(alive.job_id) == alive


# The Phase-16 state machine among the contract's four statuses, written out here rather
# than read from ALLOWED_TRANSITIONS (later statuses have their own tests).
CONTRACT_STATUSES = [PENDING, RUNNING, COMPLETED, FAILED]
ALLOWED = {
    (PENDING, RUNNING),
    (PENDING, FAILED),
    (RUNNING, COMPLETED),
    (RUNNING, FAILED),
    (RUNNING, PENDING),
}


@pytest.mark.parametrize("current", CONTRACT_STATUSES)
@pytest.mark.parametrize("new", CONTRACT_STATUSES)
def test_check_transition_allows_exactly_the_state_machine(
    current: JobStatus, new: JobStatus
) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(InvalidTransition, match=f"{current.value} job cannot become {new}"):
            check_transition(current, new)


def test_progress_is_coarse_per_status() -> None:
    assert {s: s.progress for s in CONTRACT_STATUSES} == {
        PENDING: 0.0,
        RUNNING: 0.5,
        COMPLETED: 1.0,
        FAILED: 1.0,
    }
    assert {s for s in CONTRACT_STATUSES if s.is_finished} == {COMPLETED, FAILED}
    assert [s.value for s in CONTRACT_STATUSES] == ["pending", "running", "completed", "failed"]


def test_transitioned_returns_a_changed_copy_and_refuses_invalid_moves() -> None:
    job = Job(uuid.uuid4(), "motion", "video_jobs/x.mp4")
    now = utcnow() + timedelta(minutes=1)
    running = job.transitioned(RUNNING, now, attempts=1)
    assert (running.status, running.updated_at, running.attempts) == (RUNNING, now, 1)
    assert job.status is PENDING
    with pytest.raises(InvalidTransition):
        job.transitioned(COMPLETED)


def test_storage_keys_are_named_after_the_job() -> None:
    job_id = uuid.UUID("0b0e9a51-2f7c-4e4e-9d7c-5a3f1f0c1a2b")
    assert input_key(job_id) == "0b0e9a51-2f7c-4e4e-9d7c-5a3f1f0c1a2b.mp4"
    assert results_key(job_id) == "0b0e9a51-2f7c-4e4e-9d7c-5a3f1f0c1a2b_results.json"
