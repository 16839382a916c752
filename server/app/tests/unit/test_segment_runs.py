"""A split job on the workers, with the package's in-memory adapters and a fake merge:
fan-out at claim, fan-in, the merge and its completion, failure and cancel cascades,
and the sweeps (domain/segment_runs.py, domain/recovery.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from app.domain import segment_runs
from app.domain.control import cancel_or_delete_job
from app.domain.errors import VideoDecodeError
from app.domain.model import Job, JobStatus, SplitState, results_lines_key, utcnow
from app.domain.options import AnalysisOptions
from app.domain.ports import VideoAnalysis
from app.domain.recovery import recover_stale_jobs, requeue_pending
from app.domain.segments import KeyframeIndex, SplitPolicy, VideoKeyframes
from app.tests.unit.conftest import VIDEO, FakeRunner, submit
from app.workers.worker import Worker

POLICY = SplitPolicy(min_s=30, segment_s=12, overlap_s=3)


class FixedKeyframes(KeyframeIndex):
    def __init__(self, duration_s: float) -> None:
        self.duration_s = duration_s

    def read(self, path: str) -> VideoKeyframes:
        return VideoKeyframes(self.duration_s, [float(k) for k in range(0, 100, 2)], 25.0)


@pytest.fixture
def merged(monkeypatch) -> list[tuple[Job, list[Job]]]:
    calls: list[tuple[Job, list[Job]]] = []

    def fake_merge(parent: Job, segments: Sequence[Job], **_kw) -> VideoAnalysis:
        calls.append((parent, list(segments)))
        return VideoAnalysis(video=dict(VIDEO), frames_analysed=9, warnings=["merged"])

    monkeypatch.setattr(segment_runs, "merge_segments", fake_merge)
    return calls


def worker(jobs, queue, storage, runner, duration_s: float = 40.0) -> Worker:
    return Worker(
        jobs=jobs,
        queue=queue,
        storage=storage,
        runner=runner,
        heartbeat_interval=0.05,
        poll_timeout=0.05,
        keyframes=FixedKeyframes(duration_s),
        split=POLICY,
    )


def run_all(w: Worker) -> int:
    ran = 0
    while w.run_once(wait=0.2):
        ran += 1
    return ran


def test_a_long_job_runs_as_segments_then_one_merge(jobs, queue, storage, runner, merged) -> None:
    parent = submit(jobs, queue, storage, runner)
    w = worker(jobs, queue, storage, runner)
    assert w.run_once(wait=1)  # the claim: split, nothing analysed
    split = jobs.get(parent.job_id)
    assert split.status is JobStatus.RUNNING and split.split_state == SplitState.SEGMENTS
    assert runner.calls == []
    segments = jobs.segments(parent.job_id)
    assert len(segments) == 3 and queue.size() == 3
    assert run_all(w) == 4  # three segments, then the merge
    paths = {path for path, _ in runner.calls}
    assert paths == {storage.local_path(f"{parent.job_id}.mp4")}  # the parent's upload
    done = jobs.get(parent.job_id)
    assert done.status is JobStatus.COMPLETED and done.warnings == ["merged"]
    assert done.output_path and done.frames_done == 9
    assert len(merged) == 1 and [s.segment_index for s in merged[0][1]] == [0, 1, 2]
    for segment in jobs.segments(parent.job_id):
        assert segment.status is JobStatus.COMPLETED and segment.attempts == 1
        assert segment.files_deleted_at is not None
        assert not storage.exists(results_lines_key(segment.job_id))


def test_a_short_or_unsplittable_job_runs_whole(jobs, queue, storage, runner, merged) -> None:
    short = submit(jobs, queue, storage, runner)
    worker(jobs, queue, storage, runner, duration_s=25.0).run_once(wait=1)
    assert jobs.get(short.job_id).status is JobStatus.COMPLETED
    whole = submit(jobs, queue, storage, runner, options=AnalysisOptions(split=False))
    worker(jobs, queue, storage, runner).run_once(wait=1)
    assert jobs.get(whole.job_id).status is JobStatus.COMPLETED
    assert jobs.segments(short.job_id) == jobs.segments(whole.job_id) == [] and merged == []


def test_a_failed_segment_fails_the_job_and_cancels_the_rest(jobs, queue, storage) -> None:
    runner = FakeRunner(error=VideoDecodeError("the video could not be decoded"))
    parent = submit(jobs, queue, storage, runner)
    w = worker(jobs, queue, storage, runner)
    w.run_once(wait=1)
    w.run_once(wait=1)  # the first segment fails
    failed = jobs.get(parent.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error_message.startswith("segment 1/3 (0:00\u20130:")
    assert failed.error_message.endswith("failed: the video could not be decoded")
    statuses = [s.status for s in jobs.segments(parent.job_id)]
    assert statuses == [JobStatus.FAILED, JobStatus.CANCELED, JobStatus.CANCELED]
    assert run_all(w) == 0  # the canceled segments' ids are skipped


def test_cancel_of_the_job_cancels_every_segment(jobs, queue, storage, runner, merged) -> None:
    parent = submit(jobs, queue, storage, runner)
    w = worker(jobs, queue, storage, runner)
    w.run_once(wait=1)
    w.run_once(wait=1)  # one segment completed
    canceled, job = cancel_or_delete_job(jobs, storage, parent.job_id)
    assert canceled and job.status is JobStatus.CANCELED
    statuses = [s.status for s in jobs.segments(parent.job_id)]
    assert statuses == [JobStatus.COMPLETED, JobStatus.CANCELED, JobStatus.CANCELED]
    assert run_all(w) == 0 and merged == []


def test_cancel_of_a_segment_cancels_its_job(jobs, queue, storage, runner) -> None:
    parent = submit(jobs, queue, storage, runner)
    worker(jobs, queue, storage, runner).run_once(wait=1)
    one = jobs.segments(parent.job_id)[1]
    canceled, _ = cancel_or_delete_job(jobs, storage, one.job_id)
    assert canceled and jobs.get(parent.job_id).status is JobStatus.CANCELED
    assert all(s.status is JobStatus.CANCELED for s in jobs.segments(parent.job_id))


def test_a_silent_merge_is_merged_again_and_a_lost_id_enqueued(
    jobs, queue, storage, runner, merged
) -> None:
    parent = submit(jobs, queue, storage, runner)
    w = worker(jobs, queue, storage, runner)
    for _ in range(4):
        w.run_once(wait=1)  # split, three segments: the merge is enqueued
    assert jobs.get(parent.job_id).split_state == SplitState.MERGE
    assert queue.get(0.1) == parent.job_id  # a worker took it and died before claiming
    assert requeue_pending(jobs, queue, older_than=timedelta(0)) == 1
    claimed = jobs.claim_merge(queue.get(0.1), utcnow())  # claimed, then the worker died
    assert claimed is not None
    later = utcnow() + timedelta(seconds=60)
    assert recover_stale_jobs(
        jobs, queue, lease=timedelta(seconds=30), max_attempts=5, now=later
    ) == (1, 0)
    assert jobs.get(parent.job_id).split_state == SplitState.MERGE
    assert w.run_once(wait=1)
    assert jobs.get(parent.job_id).status is JobStatus.COMPLETED and len(merged) == 1


def test_a_segment_out_of_attempts_fails_its_job(jobs, queue, storage, runner) -> None:
    parent = submit(jobs, queue, storage, runner)
    worker(jobs, queue, storage, runner).run_once(wait=1)
    first = jobs.segments(parent.job_id)[0]
    assert jobs.transition(
        first.job_id, JobStatus.PENDING, JobStatus.RUNNING, now=utcnow(), attempts_delta=1
    )
    later = utcnow() + timedelta(seconds=60)
    assert recover_stale_jobs(
        jobs, queue, lease=timedelta(seconds=30), max_attempts=1, now=later
    ) == (0, 1)
    failed = jobs.get(parent.job_id)
    assert failed.status is JobStatus.FAILED
    assert "segment 1/3" in failed.error_message and "stopped responding" in failed.error_message
    assert [s.status for s in jobs.segments(parent.job_id)][1:] == [JobStatus.CANCELED] * 2
