"""GET /metrics: Prometheus text for the API process.

The gauges are read at scrape time from the sources of truth (the job table and the
queue), so they are right even with several API restarts or workers. Job durations and
frame counts are measured where the work happens: each worker serves them itself when
VIDEO_JOBS_WORKER_METRICS_PORT is set (app/workers/metrics.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.api.deps import JobsDep, QueueDep
from app.domain.model import JobStatus
from app.domain.ports import JobRepository, QueueService

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


class JobsCollector(Collector):
    """Jobs by status and queue depth, asked of the repository and the queue per scrape.

    A source that does not answer is left out of that scrape (and logged) rather than
    failing the whole scrape: `video_jobs_scrape_ok` says which one answered.
    """

    def __init__(self, jobs: JobRepository, queue: QueueService) -> None:
        self.jobs = jobs
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily(
            "video_jobs_scrape_ok", "1 if the source answered this scrape", labels=["source"]
        )
        try:
            counts = self.jobs.count_by_status()
        except Exception as exc:
            log.warning("metrics: the job repository did not answer (%s)", exc)
            ok.add_metric(["database"], 0)
        else:
            ok.add_metric(["database"], 1)
            by_status = GaugeMetricFamily(
                "video_jobs_jobs", "Jobs in the database by status", labels=["status"]
            )
            for job_status in JobStatus:
                by_status.add_metric([job_status.value], counts.get(job_status, 0))
            yield by_status
            yield from self._segments()
        try:
            depth = self.queue.size()
        except Exception as exc:
            log.warning("metrics: the queue did not answer (%s)", exc)
            ok.add_metric(["queue"], 0)
        else:
            ok.add_metric(["queue"], 1)
            yield GaugeMetricFamily(
                "video_jobs_queue_depth", "Job ids waiting in the queue", value=depth
            )
        yield ok

    def _segments(self) -> Iterator[Metric]:
        """Segment jobs of split videos by status (they are also in video_jobs_jobs)."""
        try:
            counts = self.jobs.count_segments_by_status()
        except Exception as exc:
            log.warning("metrics: the segment counts did not answer (%s)", exc)
            return
        gauge = GaugeMetricFamily(
            "video_jobs_segments",
            "Segment jobs of long videos split across workers, by status",
            labels=["state"],
        )
        for job_status in JobStatus:
            gauge.add_metric([job_status.value], counts.get(job_status, 0))
        yield gauge


@router.get("/metrics", include_in_schema=False)
def metrics(jobs: JobsDep, queue: QueueDep) -> Response:
    """The API's metrics in the Prometheus text format; never needs the API key."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector(jobs, queue))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
