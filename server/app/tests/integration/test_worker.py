"""The worker loop: real clips through the real frame loop, plus the failure paths
(garbage input, duplicate ids, stop requests, an unreachable queue, a lost claim)."""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from app.adapters.db.in_memory import InMemoryJobRepository
from app.adapters.exports import export_sinks
from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.queue.in_memory import InProcessQueue
from app.adapters.storage.filesystem import FilesystemStorage
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.errors import PipelineInterrupted, QueueUnavailable
from app.domain.model import Job, JobStatus, utcnow
from app.domain.ports import PipelineInfo, PipelineRunner, StopCheck, VideoAnalysis
from app.domain.recovery import recover_stale_jobs
from app.domain.services import claim_job, submit_video
from app.tests.helpers import stored_job
from app.workers.heartbeat import Heartbeat
from app.workers.worker import ImmediateShutdown, Worker

PENDING, RUNNING = JobStatus.PENDING, JobStatus.RUNNING
COMPLETED, FAILED = JobStatus.COMPLETED, JobStatus.FAILED
MP4_HEADER = b"\x00\x00\x00\x18ftypisom"
POLLS = 400  # bounded waits: POLLS x 25 ms at most, never a timing assertion


def eventually(condition: Callable[[], bool]) -> bool:
    for _ in range(POLLS):
        if condition():
            return True
        time.sleep(0.025)
    return condition()


class ScriptedRunner(PipelineRunner):
    """A PipelineRunner whose run() does whatever the test scripts."""

    def __init__(self, action: Callable[[StopCheck], VideoAnalysis] | None = None) -> None:
        self.action = action or (lambda _stop: VideoAnalysis({"frame_count": 1}))

    def pipelines(self) -> list[PipelineInfo]:
        return [PipelineInfo("motion", "scripted")]

    def run(self, video_path, pipeline_id, *, should_stop=lambda: False, **_kwargs):
        return self.action(should_stop)


class FlakyQueue(InProcessQueue):
    """The API is away for the first `failures` gets; counts close() calls."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.closed = 0

    def get(self, timeout: float) -> uuid.UUID | None:
        if self.failures:
            self.failures -= 1
            raise QueueUnavailable("queue at 127.0.0.1:1 unreachable")
        return super().get(timeout)

    def close(self) -> None:
        self.closed += 1


@dataclass
class Parts:
    jobs: InMemoryJobRepository
    queue: InProcessQueue
    storage: FilesystemStorage | InMemoryStorage
    runner: PipelineRunner

    def worker(self, **kwargs) -> Worker:
        kwargs = {"heartbeat_interval": 0.05, "poll_timeout": 0.1, **kwargs}
        return Worker(
            jobs=self.jobs, queue=self.queue, storage=self.storage, runner=self.runner, **kwargs
        )

    def submit(self, video: bytes) -> Job:
        return submit_video(
            [video],
            "motion",
            jobs=self.jobs,
            queue=self.queue,
            storage=self.storage,
            runner=self.runner,
        )


@pytest.fixture
def real(tmp_path: Path) -> Parts:
    storage = FilesystemStorage(tmp_path / "data" / "video_jobs", tmp_path / "data")
    runner = VideoFilePipelineService(PipelineCatalog.load())
    return Parts(InMemoryJobRepository(), InProcessQueue(), storage, runner)


def fake(runner: PipelineRunner, queue: InProcessQueue | None = None) -> Parts:
    return Parts(InMemoryJobRepository(), queue or InProcessQueue(), InMemoryStorage(), runner)


@pytest.fixture
def clip(clip_path: Path) -> bytes:
    return clip_path.read_bytes()


@pytest.fixture(autouse=True)
def no_threads_left_behind():
    before = set(threading.enumerate())
    yield
    assert eventually(lambda: not [t for t in set(threading.enumerate()) - before if t.is_alive()])


@pytest.mark.integration
def test_run_once_completes_a_job_on_a_real_clip(real: Parts, clip: bytes) -> None:
    job = real.submit(clip)
    assert real.worker().run_once(wait=30) is True
    done = stored_job(real.jobs, job.job_id)
    assert (done.status, done.attempts, done.error_message) == (COMPLETED, 1, None)
    assert done.output_path == f"video_jobs/{job.job_id}_results.json"
    assert real.storage.exists(f"{job.job_id}_results.json")
    assert real.queue.size() == 0


@pytest.mark.integration
def test_a_garbage_video_fails_clearly_and_the_worker_runs_the_next(
    real: Parts, clip: bytes
) -> None:
    garbage = real.submit(MP4_HEADER + np.random.default_rng(0).bytes(8192))
    good = real.submit(clip)
    worker = real.worker()
    assert worker.run_once(wait=30) is True
    failed = stored_job(real.jobs, garbage.job_id)
    assert failed.status is FAILED
    assert failed.error_message is not None and "corrupt" in failed.error_message
    assert worker.run_once(wait=30) is True
    assert stored_job(real.jobs, good.job_id).status is COMPLETED


@pytest.mark.integration
def test_a_duplicate_id_in_the_queue_is_skipped(real: Parts, clip: bytes) -> None:
    job = real.submit(clip)
    real.queue.put(job.job_id)  # a sweep enqueued it again
    worker = real.worker()
    assert worker.run_once(wait=30) is True
    assert worker.run_once(wait=0.3) is False  # took the duplicate, did not run it
    assert real.queue.size() == 0
    done = stored_job(real.jobs, job.job_id)
    assert (done.status, done.attempts) == (COMPLETED, 1)


class StopAtFrame(VideoFilePipelineService):
    """The real frame loop; `on_frame` is called after the given frame is analysed."""

    def __init__(self, frame: int, on_frame: Callable[[], None]) -> None:
        super().__init__(PipelineCatalog.load())
        self.frame = frame
        self.on_frame = on_frame

    def run(self, video_path, pipeline_id, *, on_progress=None, **kwargs):
        def progress(done: int, *_total: object) -> None:
            if done == self.frame:
                self.on_frame()

        return super().run(video_path, pipeline_id, on_progress=progress, **kwargs)


@pytest.mark.integration
def test_a_stop_request_during_a_job_releases_it_and_requeues_its_id(
    real: Parts, clip: bytes
) -> None:
    stop = threading.Event()
    real.runner = StopAtFrame(5, stop.set)
    job = real.submit(clip)
    worker = real.worker()
    worker.stop_requested = stop
    assert worker.run_once(wait=30) is True
    released = stored_job(real.jobs, job.job_id)
    assert (released.status, released.attempts, released.output_path) == (PENDING, 0, None)
    assert real.queue.shared.snapshot() == [str(job.job_id)]
    assert not real.storage.exists(f"{job.job_id}_results.json")


@pytest.mark.unit
def test_a_second_signal_mid_job_still_releases_the_job() -> None:
    def second_signal(_stop: StopCheck) -> VideoAnalysis:
        raise ImmediateShutdown(0)

    parts = fake(ScriptedRunner(second_signal))
    job = parts.submit(MP4_HEADER)
    with pytest.raises(ImmediateShutdown):
        parts.worker().run_once(wait=5)
    released = stored_job(parts.jobs, job.job_id)
    assert (released.status, released.attempts) == (PENDING, 0)
    assert parts.queue.queued_ids() == {job.job_id}


@pytest.mark.unit
def test_first_signal_asks_to_stop_and_a_second_stops_now() -> None:
    worker = fake(ScriptedRunner()).worker()
    worker._on_signal(signal.SIGTERM, None)
    assert worker.stop_requested.is_set()
    with pytest.raises(ImmediateShutdown):
        worker._on_signal(signal.SIGINT, None)


@pytest.mark.unit
def test_an_unreachable_queue_means_backing_off_not_crashing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FlakyQueue(failures=3)
    parts = fake(ScriptedRunner(), queue)
    job = parts.submit(MP4_HEADER)
    worker = parts.worker(max_backoff=0.05)
    with caplog.at_level(logging.INFO, logger="app.workers.worker"):
        assert worker.run_once(wait=30) is True
    assert stored_job(parts.jobs, job.job_id).status is COMPLETED
    assert queue.failures == 0
    assert "unreachable" in caplog.text and "reachable again" in caplog.text


@pytest.mark.unit
def test_run_once_gives_up_when_no_job_arrives_or_a_stop_was_asked() -> None:
    parts = fake(ScriptedRunner())
    worker = parts.worker()
    assert worker.run_once(wait=0.2) is False
    job = parts.submit(MP4_HEADER)
    worker.stop_requested.set()
    assert worker.run_once(wait=5) is False
    assert parts.queue.queued_ids() == {job.job_id}


@pytest.mark.unit
def test_run_forever_works_until_asked_to_stop_then_closes_the_queue() -> None:
    queue = FlakyQueue()
    parts = fake(ScriptedRunner(), queue)
    worker = parts.worker()
    exit_codes: list[int] = []
    loop = threading.Thread(target=lambda: exit_codes.append(worker.run_forever()))
    loop.start()
    try:
        jobs = [parts.submit(MP4_HEADER) for _ in range(3)]
        assert eventually(
            lambda: all(stored_job(parts.jobs, j.job_id).status is COMPLETED for j in jobs)
        )
    finally:
        worker.stop_requested.set()
        loop.join(timeout=30)
    assert exit_codes == [0]
    assert queue.closed == 1


def claimed_job(jobs: InMemoryJobRepository) -> Job:
    job = Job(uuid.uuid4(), "motion", "video_jobs/x.mp4")
    jobs.add(job)
    claimed = claim_job(jobs, job.job_id)
    assert claimed is not None
    return claimed


@pytest.mark.unit
def test_the_heartbeat_keeps_a_claim_fresh_and_notices_when_it_is_taken() -> None:
    jobs = InMemoryJobRepository()
    job = claimed_job(jobs)
    first_beat = job.heartbeat_at
    assert first_beat is not None

    def beat_again() -> bool:
        beat = stored_job(jobs, job.job_id).heartbeat_at
        return beat is not None and beat > first_beat

    with Heartbeat(jobs, job, interval=0.01) as heartbeat:
        assert eventually(beat_again)
        assert not heartbeat.lost.is_set()
        jobs.transition(job.job_id, RUNNING, PENDING, now=utcnow(), attempt=job.attempts)
        assert heartbeat.lost.wait(timeout=10)


class HiccupRepository(InMemoryJobRepository):
    """The database fails the first heartbeat, then answers again."""

    def __init__(self) -> None:
        super().__init__()
        self.beats = 0

    def heartbeat(self, *args, **kwargs) -> bool:
        self.beats += 1
        if self.beats == 1:
            raise ConnectionError("database is locked")
        return super().heartbeat(*args, **kwargs)


@pytest.mark.unit
def test_a_database_hiccup_does_not_count_as_a_lost_claim() -> None:
    jobs = HiccupRepository()
    job = claimed_job(jobs)
    with Heartbeat(jobs, job, interval=0.01) as heartbeat:
        assert eventually(lambda: jobs.beats >= 3)
        assert not heartbeat.lost.is_set()


@pytest.mark.unit
def test_a_worker_that_lost_its_claim_stops_and_leaves_the_job_to_the_new_holder() -> None:
    runner = ScriptedRunner()
    parts = fake(runner)
    job = parts.submit(MP4_HEADER)
    noticed = threading.Event()

    def taken_over_then_wait(should_stop: StopCheck) -> VideoAnalysis:
        later = utcnow() + timedelta(hours=1)  # the sweep thinks this worker is dead
        parts.jobs.transition(job.job_id, RUNNING, PENDING, now=utcnow(), heartbeat_before=later)
        claim_job(parts.jobs, job.job_id)  # and another worker claims it
        if eventually(should_stop):
            noticed.set()
            raise PipelineInterrupted("stopped: claim lost")
        return VideoAnalysis({"frame_count": 1})

    runner.action = taken_over_then_wait
    assert parts.worker().run_once(wait=30) is True
    now_held = stored_job(parts.jobs, job.job_id)
    assert noticed.is_set()  # the heartbeat told the frame loop to stop
    assert (now_held.status, now_held.attempts, now_held.output_path) == (RUNNING, 2, None)
    assert not parts.storage.exists(f"{job.job_id}_results.json")
    assert parts.queue.size() == 0  # not released, not re-enqueued by the loser


@pytest.mark.unit
def test_a_stalled_frame_loop_stops_the_heartbeat_so_the_job_is_recovered() -> None:
    jobs = InMemoryJobRepository()
    job = claimed_job(jobs)
    with Heartbeat(jobs, job, interval=0.01, stall_timeout=0.2) as heartbeat:
        heartbeat.report(1, 10)  # one frame, then nothing: a decoder hung inside OpenCV
        assert heartbeat.stalled.wait(timeout=10)
        last_beat = stored_job(jobs, job.job_id).heartbeat_at
        requeued, failed = recover_stale_jobs(
            jobs, InProcessQueue(), lease=timedelta(0), max_attempts=3, now=utcnow()
        )
        assert (requeued, failed) == (1, 0)
    assert stored_job(jobs, job.job_id).status is PENDING
    assert stored_job(jobs, job.job_id).heartbeat_at == last_beat
    assert not heartbeat.lost.is_set()


@pytest.mark.unit
def test_frames_that_keep_finishing_keep_the_heartbeat_going() -> None:
    jobs = InMemoryJobRepository()
    job = claimed_job(jobs)
    with Heartbeat(jobs, job, interval=0.01, stall_timeout=0.2) as heartbeat:
        for frame in range(1, 40):
            heartbeat.report(frame, 40)
            time.sleep(0.01)
        assert not heartbeat.stalled.is_set()
    assert stored_job(jobs, job.job_id).frames_done > 0


class PartFileVandal(PipelineRunner):
    """Runs the real pipeline, then deletes the job's unfinished `.part` files, as an
    over-eager cleanup script (or the old age-based sweep) would."""

    def __init__(self, inner: PipelineRunner, storage: FilesystemStorage) -> None:
        self.inner, self.storage = inner, storage
        self.deleted: list[str] = []

    def pipelines(self) -> list[PipelineInfo]:
        return self.inner.pipelines()

    def run(self, video_path, pipeline_id, **kwargs) -> VideoAnalysis:
        analysis = self.inner.run(video_path, pipeline_id, **kwargs)
        for path in self.storage.root.glob(".*_tracks.vtt.*.part"):
            path.unlink()
            self.deleted.append(path.name)
        return analysis


@pytest.mark.integration
def test_a_job_whose_part_file_vanishes_fails_with_a_clear_message(
    real: Parts, clip: bytes
) -> None:
    assert isinstance(real.storage, FilesystemStorage)
    vandal = PartFileVandal(real.runner, real.storage)
    parts = Parts(real.jobs, real.queue, real.storage, vandal)
    job = parts.submit(clip)
    storage = real.storage
    worker = parts.worker(export_sinks=lambda job, options: export_sinks(storage, job, options))
    assert worker.run_once(wait=30) is True
    assert vandal.deleted, "the job wrote no WebVTT part file to delete"
    failed = stored_job(real.jobs, job.job_id)
    assert failed.status is FAILED
    assert failed.error_message is not None
    assert "tracks.vtt was deleted from the storage directory" in failed.error_message
    assert "submit the video again" in failed.error_message
    assert "FileNotFoundError" not in failed.error_message
    left = sorted(p.name for p in storage.root.iterdir() if not p.name.endswith(".mp4"))
    assert left == [], left  # neither results nor exports of a failed job are kept
