"""Per-worker Prometheus metrics: how long jobs take and how many frames were analysed.

They are measured here, in the process that does the work, because the API cannot see
it: the API's /metrics has the job counts and the queue depth, each worker serves these
on VIDEO_JOBS_WORKER_METRICS_PORT (off by default) and Prometheus adds them up.

Metrics are process-wide by nature (like logging), so there is one `WorkerMetrics` per
process, created on first use; `serve_worker_metrics` exposes it over HTTP.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.process_collector import ProcessCollector

from app.domain.model import Job, JobStatus
from app.domain.ports import (
    PipelineInfo,
    PipelineRunner,
    ProgressCallback,
    StopCheck,
    VideoAnalysis,
)
from app.settings import Settings

log = logging.getLogger(__name__)

# Jobs last from under a second (a short clip) to an hour (a long film on a slow box).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class WorkerMetrics:
    """The worker's instruments, in a registry of their own (tests make fresh ones)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.job_duration = Histogram(
            "video_jobs_job_duration_seconds",
            "Time from claim to the end of a job's run, by pipeline and outcome",
            ["pipeline", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.frames = Counter(
            "video_jobs_frames_processed",
            "Frames run through a pipeline (including those of jobs that later failed)",
            ["pipeline"],
            registry=self.registry,
        )
        self.busy = Gauge(
            "video_jobs_worker_busy", "1 while this worker runs a job", registry=self.registry
        )

    @contextmanager
    def observe(self, job: Job, runner: PipelineRunner) -> Iterator[JobRun]:
        """Time one job and count its frames: run it with `run.runner` and set
        `run.status` to how it ended; without a status it counts as `released`."""
        run = JobRun(runner=CountingRunner(runner, self.frames.labels(job.pipeline_id)))
        started = time.monotonic()
        self.busy.set(1)
        try:
            yield run
        finally:
            self.busy.set(0)
            outcome = run.status.value if run.status is not None else "released"
            self.job_duration.labels(job.pipeline_id, outcome).observe(time.monotonic() - started)


@dataclass
class JobRun:
    runner: PipelineRunner
    status: JobStatus | None = None


class CountingRunner(PipelineRunner):
    """A PipelineRunner that counts analysed frames as they go, so a job that fails or is
    interrupted half-way still counts the frames it did analyse."""

    def __init__(self, inner: PipelineRunner, frames: Counter) -> None:
        self.inner = inner
        self.frames = frames

    def pipelines(self) -> list[PipelineInfo]:
        return self.inner.pipelines()

    def has_pipeline(self, pipeline_id: str) -> bool:
        return self.inner.has_pipeline(pipeline_id)

    def run(
        self,
        video_path: str,
        pipeline_id: str,
        *,
        should_stop: StopCheck = lambda: False,
        on_progress: ProgressCallback | None = None,
        **kwargs: Any,
    ) -> VideoAnalysis:
        counted = 0

        def progress(done: int, total: int | None = None) -> None:
            nonlocal counted
            self.frames.inc(max(0, done - counted))
            counted = done
            if on_progress is not None:
                on_progress(done, total)

        return self.inner.run(
            video_path, pipeline_id, should_stop=should_stop, on_progress=progress, **kwargs
        )


_lock = threading.Lock()
_metrics: WorkerMetrics | None = None
_server: tuple[Any, threading.Thread, int] | None = None


def worker_metrics() -> WorkerMetrics:
    """This process's metrics (created on first use, with the process's CPU and memory)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = WorkerMetrics()
            ProcessCollector(registry=_metrics.registry)
        return _metrics


def serve_worker_metrics(settings: Settings) -> int | None:
    """Serve this process's metrics on VIDEO_JOBS_WORKER_METRICS_PORT, if set; returns
    the port, or None when off or the port is taken (logged: metrics are not worth
    stopping the worker for). Calling it again is harmless."""
    global _server
    port = settings.worker_metrics_port
    if port is None:
        return None
    metrics = worker_metrics()
    host = settings.worker_metrics_host
    with _lock:
        if _server is not None:
            return _server[2]
        try:
            server, thread = start_http_server(port, addr=host, registry=metrics.registry)
        except OSError as exc:
            log.error("worker metrics not served: %s:%d is unavailable (%s)", host, port, exc)
            return None
        _server = (server, thread, port)
    log.info("worker metrics on http://%s:%d/metrics", host, port)
    return port


def stop_serving_worker_metrics() -> None:
    """Stop the metrics server (tests; a worker process simply exits)."""
    global _server
    with _lock:
        if _server is None:
            return
        server, thread, _port = _server
        _server = None
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
