"""Operations, with fakes: the worker's job-duration and frame metrics, the API's
jobs-by-status collector, and the JSON log format."""

from __future__ import annotations

import json
import logging
import sys
import uuid

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from app.api.routes.metrics import JobsCollector
from app.domain.errors import PipelineInterrupted
from app.domain.log_context import job_context
from app.domain.model import Job, JobStatus
from app.domain.ports import PipelineInfo, PipelineRunner, VideoAnalysis
from app.domain.services import submit_video
from app.logging_setup import JsonFormatter, build_formatter
from app.tests.unit.conftest import MP4_BYTES
from app.workers.metrics import WorkerMetrics, worker_metrics
from app.workers.worker import Worker

pytestmark = pytest.mark.unit


class FramesRunner(PipelineRunner):
    """Reports `frames` frames through on_progress, then ends as told."""

    def __init__(self, frames: int, error: BaseException | None = None) -> None:
        self.frames = frames
        self.error = error
        self.progress: list[tuple[int, int | None]] = []

    def pipelines(self) -> list[PipelineInfo]:
        return [PipelineInfo("motion", "test")]

    def run(self, video_path, pipeline_id, *, should_stop=lambda: False, on_progress=None, **_):
        for done in range(1, self.frames + 1):
            if on_progress is not None:
                on_progress(done, self.frames)
        if self.error is not None:
            raise self.error
        return VideoAnalysis(video={"frame_count": self.frames}, frames_analysed=self.frames)


def job(pipeline: str = "motion") -> Job:
    job_id = uuid.uuid4()
    return Job(job_id=job_id, pipeline_id=pipeline, input_path=f"{job_id}.mp4")


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_observe_counts_frames_and_times_the_job_by_outcome():
    metrics = WorkerMetrics(CollectorRegistry())
    runner = FramesRunner(12)
    with metrics.observe(job(), runner) as run:
        assert sample(metrics, "video_jobs_worker_busy") == 1
        run.runner.run("x.mp4", "motion")
        run.status = JobStatus.COMPLETED
    assert sample(metrics, "video_jobs_worker_busy") == 0
    assert sample(metrics, "video_jobs_frames_processed_total", pipeline="motion") == 12
    labels = {"pipeline": "motion", "outcome": "completed"}
    assert sample(metrics, "video_jobs_job_duration_seconds_count", **labels) == 1
    assert sample(metrics, "video_jobs_job_duration_seconds_sum", **labels) >= 0


def test_an_interrupted_job_counts_its_frames_and_as_released():
    metrics = WorkerMetrics(CollectorRegistry())
    with (
        pytest.raises(PipelineInterrupted),
        metrics.observe(job("qr"), FramesRunner(5, PipelineInterrupted("stop"))) as run,
    ):
        run.runner.run("x.mp4", "qr")
    assert sample(metrics, "video_jobs_frames_processed_total", pipeline="qr") == 5
    labels = {"pipeline": "qr", "outcome": "released"}
    assert sample(metrics, "video_jobs_job_duration_seconds_count", **labels) == 1


def test_the_counting_runner_passes_progress_on():
    metrics = WorkerMetrics(CollectorRegistry())
    seen: list[tuple[int, int | None]] = []
    with metrics.observe(job(), FramesRunner(3)) as run:
        run.runner.run("x.mp4", "motion", on_progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert run.runner.pipelines() == [PipelineInfo("motion", "test")]


def test_the_worker_reports_each_job_it_runs(jobs, queue, storage):
    runner = FramesRunner(7)
    submitted = submit_video(
        [MP4_BYTES], "motion", jobs=jobs, queue=queue, storage=storage, runner=runner
    )
    metrics = worker_metrics()
    labels = {"pipeline": "motion", "outcome": "completed"}
    before = sample(metrics, "video_jobs_job_duration_seconds_count", **labels)
    frames_before = sample(metrics, "video_jobs_frames_processed_total", pipeline="motion")
    worker = Worker(jobs=jobs, queue=queue, storage=storage, runner=runner)
    assert worker.run_once(wait=2)
    assert jobs.get(submitted.job_id).status is JobStatus.COMPLETED
    assert sample(metrics, "video_jobs_job_duration_seconds_count", **labels) == before + 1
    frames = sample(metrics, "video_jobs_frames_processed_total", pipeline="motion")
    assert frames == frames_before + 7


def test_the_api_collector_reports_jobs_by_status_and_queue_depth(jobs, queue, storage, runner):
    for _ in range(3):
        submit_video([MP4_BYTES], "motion", jobs=jobs, queue=queue, storage=storage, runner=runner)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector(jobs, queue))
    assert registry.get_sample_value("video_jobs_jobs", {"status": "pending"}) == 3
    assert registry.get_sample_value("video_jobs_jobs", {"status": "completed"}) == 0
    assert registry.get_sample_value("video_jobs_queue_depth") == 3
    assert registry.get_sample_value("video_jobs_scrape_ok", {"source": "database"}) == 1


def test_a_source_that_does_not_answer_is_left_out_not_fatal(jobs, queue):
    class DownQueue(type(queue)):
        def size(self) -> int:
            raise ConnectionError("queue down")

    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector(jobs, DownQueue()))
    text = generate_latest(registry).decode()
    assert 'video_jobs_scrape_ok{source="queue"} 0.0' in text
    assert "video_jobs_queue_depth " not in text
    assert 'video_jobs_jobs{status="pending"} 0.0' in text


def record(message: str, *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("app.worker", logging.INFO, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


def test_json_lines_carry_the_job_id_of_the_job_they_were_logged_in():
    job_id = uuid.uuid4()
    with job_context(job_id):
        line = JsonFormatter().format(record("claimed by %s", "worker-1"))
    entry = json.loads(line)
    assert entry["job_id"] == str(job_id)
    assert entry["message"] == "claimed by worker-1"
    other = uuid.uuid4()  # a line that only mentions a job is not about it
    assert "job_id" not in json.loads(JsonFormatter().format(record("see job %s", other)))
    assert (entry["level"], entry["logger"]) == ("INFO", "app.worker")
    assert entry["time"].endswith("+00:00")


def test_json_access_lines_carry_the_job_id_of_the_path():
    job_id = str(uuid.uuid4())
    access = record('127.0.0.1:5 - "GET /video/status/%s HTTP/1.1" 200', job_id)
    assert json.loads(JsonFormatter().format(access))["job_id"] == job_id
    frame = record('127.0.0.1:5 - "GET /v1/video/jobs/%s/frames/3.jpg HTTP/1.1" 200', job_id)
    assert json.loads(JsonFormatter().format(frame))["job_id"] == job_id


def test_json_lines_take_the_job_id_from_extra_and_omit_it_otherwise():
    job_id = str(uuid.uuid4())
    assert json.loads(JsonFormatter().format(record("done", job_id=job_id)))["job_id"] == job_id
    assert "job_id" not in json.loads(JsonFormatter().format(record("API ready")))


def test_json_lines_keep_the_traceback_on_one_line():
    try:
        raise ValueError("bad frame")
    except ValueError:
        entry = record("job failed")
        entry.exc_info = sys.exc_info()
    line = JsonFormatter().format(entry)
    assert "\n" not in line
    assert "ValueError: bad frame" in json.loads(line)["exception"]


def test_an_unknown_log_format_is_refused():
    assert isinstance(build_formatter("json"), JsonFormatter)
    with pytest.raises(ValueError, match="xml"):
        build_formatter("xml")
