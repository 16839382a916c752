"""The frame loop's parts with fakes: the results writer sink, the sinks' lifecycle in
run_claimed_job (close together, abort together), the filters stage, and release."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from app.adapters.pipeline.filters import DetectionFilter
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.detections import Detection
from app.domain.errors import InsufficientStorage
from app.domain.frames import Frame, FrameSink
from app.domain.job_runs import release_job, run_claimed_job
from app.domain.model import Job, JobStatus, Progress, utcnow
from app.domain.options import AnalysisOptions
from app.domain.ports import FileWrite
from app.domain.results_pages import ResultsQuery, read_page
from app.domain.results_writer import ResultsWriter, encode_results
from app.domain.services import claim_job
from app.tests.unit.conftest import FRAMES, VIDEO, FakeRunner, submit

pytestmark = pytest.mark.unit


@pytest.fixture
def claimed(jobs, queue, storage, runner) -> Job:
    job = submit(jobs, queue, storage, runner)
    held = claim_job(jobs, job.job_id)
    assert held is not None
    return held


def frames(count: int) -> list[Frame]:
    return [Frame(i, 33 * i, None, {"n": i, "text": "a\nb"}) for i in range(count)]


def test_the_writer_streams_lines_and_index_and_assembles_the_same_document(claimed, storage):
    writer = ResultsWriter(storage, claimed)
    items = []
    for frame in frames(5000):  # more than one index batch
        writer.add(frame)
        items.append(frame.item())
    writer.close(VIDEO, ["one warning"])
    document = storage.load_file(f"{claimed.job_id}_results.json")
    assert document == encode_results(claimed, VIDEO, items, ["one warning"])
    assert json.loads(document)["results"][4999] == {
        "frame_index": 4999,
        "timestamp_ms": 4999 * 33,
        "result": {"n": 4999, "text": "a\nb"},
    }
    page = read_page(storage, claimed, ResultsQuery(offset=4998, limit=5))
    items = json.loads(b"[" + b"".join(page.chunks) + b"]")
    assert [item["frame_index"] for item in items] == [4998, 4999] and page.next_offset is None
    assert writer.output_path == f"video_jobs/{claimed.job_id}_results.json"


def test_a_writer_with_no_frames_writes_an_empty_results_list(claimed, storage):
    writer = ResultsWriter(storage, claimed)
    writer.close(VIDEO)
    document = json.loads(storage.load_file(f"{claimed.job_id}_results.json"))
    assert document["results"] == [] and document["warnings"] == []


@pytest.mark.parametrize("closed", [False, True])
def test_abort_removes_every_file_the_writer_wrote(claimed, storage, closed):
    writer = ResultsWriter(storage, claimed)
    for frame in frames(3):
        writer.add(frame)
    if closed:
        writer.close(VIDEO)
        assert len(storage.files) == 4
    writer.abort()
    assert storage.files.keys() == {f"{claimed.job_id}.mp4"}


class FullDisk(InMemoryStorage):
    """Writes fail once `room` bytes have been written in all (the disk filled up)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def open_write(self, key: str) -> FileWrite:
        inner = super().open_write(key)
        disk = self

        class Limited(FileWrite):
            def write(self, data: bytes) -> None:
                disk.room -= len(data)
                if disk.room < 0:
                    inner.discard()
                    raise InsufficientStorage("the server's disk is full; try again later")
                inner.write(data)

            def commit(self) -> None:
                inner.commit()

            def discard(self) -> None:
                inner.discard()

            @property
            def path(self) -> str:
                return inner.path

        return Limited()


@pytest.mark.parametrize("room", [10, 150, 260])  # in the lines, the index, the document
def test_a_full_disk_fails_the_job_and_leaves_no_results_file(jobs, queue, runner, room):
    storage = FullDisk(room=1 << 20)
    job = submit(jobs, queue, storage, runner)
    storage.room = room
    held = claim_job(jobs, job.job_id)
    assert run_claimed_job(held, jobs=jobs, storage=storage, runner=runner) is JobStatus.FAILED
    assert "disk is full" in jobs.get(job.job_id).error_message
    assert storage.files.keys() == {f"{job.job_id}.mp4"}


class RecordingSink(FrameSink):
    def __init__(self, storage: InMemoryStorage, key: str, fail_close: bool = False) -> None:
        self.storage, self.key, self.fail_close = storage, key, fail_close
        self.indexes: list[int] = []
        self.closed_with: tuple[dict[str, Any], list[str]] | None = None
        self.aborted = False

    def add(self, frame: Frame) -> None:
        self.indexes.append(frame.index)

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        if self.fail_close:
            raise InsufficientStorage("the server's disk is full; try again later")
        self.storage.save_file(self.key, [b"x"])
        self.closed_with = (video, list(warnings))

    def abort(self) -> None:
        self.aborted = True
        self.storage.delete_file(self.key)


def test_export_sinks_see_every_frame_and_close_with_the_video_and_warnings(claimed, jobs, storage):
    sink = RecordingSink(storage, "export.csv")
    runner = FakeRunner(warnings=("decoding stopped early",))
    status = run_claimed_job(
        claimed, jobs=jobs, storage=storage, runner=runner, export_sinks=lambda job, o: [sink]
    )
    assert status is JobStatus.COMPLETED
    assert sink.indexes == [f["frame_index"] for f in FRAMES]
    assert sink.closed_with == (VIDEO, ["decoding stopped early"])
    job = jobs.get(claimed.job_id)
    assert job.warnings == ["decoding stopped early"]
    document = json.loads(storage.load_file(f"{claimed.job_id}_results.json"))
    assert document["warnings"] == ["decoding stopped early"]


def test_one_sink_failing_to_close_removes_every_sinks_files(claimed, jobs, storage, runner):
    first, second = RecordingSink(storage, "a.csv"), RecordingSink(storage, "b.csv", True)
    status = run_claimed_job(
        claimed,
        jobs=jobs,
        storage=storage,
        runner=runner,
        export_sinks=lambda job, o: [first, second],
    )
    assert status is JobStatus.FAILED
    assert first.aborted and second.aborted
    assert storage.files.keys() == {f"{claimed.job_id}.mp4"}


def test_the_runner_gets_the_jobs_options(jobs, queue, storage, runner):
    options = AnalysisOptions(sample_fps=2.0, start_s=1.0, end_s=3.5, min_confidence=0.25)
    job = submit(jobs, queue, storage, runner, options=options)
    run_claimed_job(claim_job(jobs, job.job_id), jobs=jobs, storage=storage, runner=runner)
    assert runner.options == options


def test_completion_ends_progress_at_the_frames_analysed(claimed, jobs, storage):
    run_claimed_job(claimed, jobs=jobs, storage=storage, runner=FakeRunner())
    job = jobs.get(claimed.job_id)
    assert (job.frames_done, job.frames_total) == (3, 3)


def test_completion_of_a_video_that_ended_early_keeps_the_planned_total(claimed, jobs, storage):
    runner = FakeRunner()
    runner.video, runner.frames_total = {**VIDEO, "frames_declared": 100}, 100
    run_claimed_job(claimed, jobs=jobs, storage=storage, runner=runner)
    job = jobs.get(claimed.job_id)
    assert (job.frames_done, job.frames_total) == (3, 100)


def test_the_warnings_given_at_submit_come_before_the_runs_own(jobs, queue, storage):
    runner = FakeRunner(warnings=("the video is damaged",))
    job = submit(jobs, queue, storage, runner, warnings=["the form field 'pipline_id' was ignored"])
    run_claimed_job(claim_job(jobs, job.job_id), jobs=jobs, storage=storage, runner=runner)
    expected = ["the form field 'pipline_id' was ignored", "the video is damaged"]
    assert jobs.get(job.job_id).warnings == expected
    assert json.loads(storage.load_file(f"{job.job_id}_results.json"))["warnings"] == expected


def test_a_released_job_shows_no_progress_from_the_run_that_stopped(claimed, jobs, queue):
    jobs.heartbeat(claimed.job_id, claimed.attempts, utcnow(), Progress(40, 100, 12.5))
    release_job(jobs, queue, claimed)
    job = jobs.get(claimed.job_id)
    assert (job.status, job.frames_done, job.processing_fps) == (JobStatus.PENDING, 0, None)
    assert job.frames_total == 100


def found(*confidences: float, label: str = "face") -> list[Detection]:
    return [Detection(label, [0, 0, 4, 4], c) for c in confidences]


def test_the_filters_drop_weak_detections_and_other_labels():
    stage = DetectionFilter(AnalysisOptions(min_confidence=0.5, labels=("face",)), 100)
    frame = Frame(0, 0, None, detections=found(0.4, 0.6) + found(0.9, label="person"))
    stage.process(frame)
    assert [(d.label, d.confidence) for d in frame.detections or ()] == [("face", 0.6)]
    assert stage.warnings() == []


def test_the_cap_keeps_the_most_confident_in_order_and_warns_once():
    stage = DetectionFilter(AnalysisOptions(), max_per_frame=2)
    capped = Frame(0, 0, None, detections=found(0.3, 0.9, 0.1, 0.8))
    fine = Frame(1, 40, None, detections=found(0.3))
    for frame in (capped, fine, Frame(2, 80, None, detections=found(0.5, 0.6, 0.7))):
        stage.process(frame)
    assert [d.confidence for d in capped.detections or ()] == [0.9, 0.8]
    assert [d.confidence for d in fine.detections or ()] == [0.3]
    (warning,) = stage.warnings()
    assert "2 frame(s)" in warning and "VIDEO_JOBS_MAX_DETECTIONS_PER_FRAME" in warning


def test_a_frame_serialises_its_detections_once_in_the_contract_shape():
    frame = Frame(7, 233, None, {"motion_ratio": 0.5}, detections=found(0.75))
    frame.detections[0].track_id = 3
    assert frame.item() == {
        "frame_index": 7,
        "timestamp_ms": 233,
        "result": {
            "detections": [
                {"label": "face", "bbox": [0, 0, 4, 4], "confidence": 0.75, "track_id": 3}
            ],
            "motion_ratio": 0.5,
        },
    }
    assert Frame(0, 0, None, {"brightness": 1.0}).item()["result"] == {"brightness": 1.0}


def test_frames_without_detections_pass_the_filters_untouched():
    stage = DetectionFilter(AnalysisOptions(min_confidence=0.9), 1)
    frame = Frame(0, 0, None, {"brightness": 3.0})
    stage.process(frame)
    assert frame.result == {"brightness": 3.0}


def test_a_completion_the_database_refuses_keeps_no_results(claimed, jobs, storage, runner):
    record = jobs.transition

    def refuse_completion(job_id, expected, new, **kwargs):
        if new is JobStatus.COMPLETED:
            raise RuntimeError("database is locked")
        return record(job_id, expected, new, **kwargs)

    jobs.transition = refuse_completion
    with pytest.raises(RuntimeError, match="locked"):
        run_claimed_job(claimed, jobs=jobs, storage=storage, runner=runner)
    assert storage.files.keys() == {f"{claimed.job_id}.mp4"}
