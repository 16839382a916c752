"""The composition root: builds adapters from Settings for the API, the worker and tests.

Nothing is built at import time; each entrypoint calls these once and passes them down.
"""

from __future__ import annotations

import errno
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from app.adapters.db.engine import build_engine, build_session_factory
from app.adapters.db.sqlalchemy_repository import SqlAlchemyJobRepository
from app.adapters.exports import export_sinks
from app.adapters.media.inspector import Mp4Inspector
from app.adapters.media.keyframes import Mp4KeyframeIndex
from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.frame_look import BlankRule
from app.adapters.pipeline.persons import PersonSettings
from app.adapters.pipeline.tracking import tracking_stages
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.queue.manager import ManagerQueueClient, ManagerQueueServer
from app.adapters.queue.redis_queue import RedisQueue
from app.adapters.search.sqlalchemy_index import SqlAlchemySearchIndex
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.errors import QueueUnavailable
from app.domain.frames import FrameLimits, FrameSink
from app.domain.job_runs import SinkFactory
from app.domain.model import Job
from app.domain.options import AnalysisOptions
from app.domain.ports import QueueService, StorageService, VideoInspector
from app.domain.search import JobIndexer
from app.domain.segments import KeyframeIndex, SplitPolicy
from app.domain.track_facts import ConfirmationRule
from app.settings import Settings


@dataclass
class Database:
    engine: Engine
    jobs: SqlAlchemyJobRepository
    search: SqlAlchemySearchIndex

    def close(self) -> None:
        self.engine.dispose()


def build_database(settings: Settings, *, pool_size: int = 5) -> Database:
    engine = build_engine(settings.database_url, pool_size=pool_size)
    sessions = build_session_factory(engine)
    return Database(engine, SqlAlchemyJobRepository(sessions), SqlAlchemySearchIndex(sessions))


def build_storage(settings: Settings) -> FilesystemStorage:
    return FilesystemStorage(settings.storage_dir, settings.data_dir, settings.min_free_bytes)


def build_limits(settings: Settings) -> FrameLimits:
    """The contract's limits that the worker enforces while it decodes."""
    return FrameLimits(
        max_pixels=settings.max_pixels,
        max_duration_s=settings.max_duration_s,
        max_frames=settings.max_frames,
        max_job_s=settings.max_job_s,
        max_detections_per_frame=settings.max_detections_per_frame,
    )


def step_defaults(settings: Settings) -> dict[str, dict[str, Any]]:
    """Step options that come from Settings (a pipeline file may still set its own)."""
    return {
        "text": {
            "every_s": settings.text_every_s,
            "change": settings.text_change,
            "min_score": settings.text_min_score,
        }
    }


def build_confirmation(settings: Settings) -> ConfirmationRule:
    """When a track is an object, and when two tracks are one individual."""
    return ConfirmationRule(
        min_hits=settings.confirm_min_hits,
        min_score=settings.confirm_min_score,
        min_duration_ms=settings.confirm_min_duration_ms,
        join_gap_ms=settings.join_gap_ms,
        join_distance=settings.join_distance,
    )


def build_person_settings(settings: Settings) -> PersonSettings:
    """How face tracks are signed and grouped into persons across shots."""
    return PersonSettings(
        per_track=settings.person_signatures_per_track,
        min_face=settings.person_min_face_px,
        spacing_ms=settings.person_signature_spacing_ms,
        max_distance=settings.person_max_distance,
        max_tracks=settings.person_max_tracks,
    )


def build_runner(settings: Settings) -> VideoFilePipelineService:
    return VideoFilePipelineService(
        PipelineCatalog.load(settings.pipelines_dir, step_defaults(settings)),
        stages=functools.partial(
            tracking_stages,
            persons=build_person_settings(settings),
            blank=BlankRule(settings.black_max_mean, settings.uniform_max_std),
            appearance=settings.tracker_appearance,
        ),
        limits=build_limits(settings),
    )


def build_export_sinks(settings: Settings, storage: StorageService) -> SinkFactory:
    """The export sinks each job gets after its results writer: summary, WebVTT, CSV,
    and the annotated video for annotate=true."""

    def sinks(job: Job, options: AnalysisOptions) -> list[FrameSink]:
        return export_sinks(storage, job, options, settings.keyframe_width, settings.zone_rules())

    return sinks


def build_indexer(settings: Settings, database: Database, storage: StorageService) -> JobIndexer:
    """What the worker does with a completed job's summary: index it for search."""
    return JobIndexer(database.search, storage, max_rows=settings.search_index_max_rows)


def build_split_policy(settings: Settings) -> SplitPolicy:
    return SplitPolicy(settings.split_min_s, settings.segment_s, settings.segment_overlap_s)


def build_keyframe_index(_settings: Settings) -> KeyframeIndex:
    return Mp4KeyframeIndex()


def build_inspector(_settings: Settings) -> VideoInspector:
    """Reads a stored upload's MP4 header at submit (and frames/worker: probe_mp4)."""
    return Mp4Inspector()


def build_api_queue(settings: Settings) -> QueueService:
    """The API's queue: Redis when configured, else a Manager-served queue it hosts."""
    if settings.queue_url:
        return RedisQueue(settings.queue_url, name=settings.queue_name)
    return build_queue_server(settings).start()


def build_queue_server(settings: Settings) -> ManagerQueueServer:
    """The Manager-served queue the API hosts (not yet started)."""
    try:
        return ManagerQueueServer(
            settings.queue_host, settings.queue_port, settings.resolve_authkey()
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise QueueUnavailable(
            f"cannot serve the job queue on {settings.queue_host}:{settings.queue_port}: the "
            "port is in use (another API running?); set VIDEO_JOBS_QUEUE_PORT to a free port"
        ) from exc


def build_queue_client(settings: Settings) -> QueueService:
    """A worker's queue: Redis when configured, else a client of the API's Manager queue."""
    if settings.queue_url:
        return RedisQueue(settings.queue_url, name=settings.queue_name)
    return ManagerQueueClient(settings.queue_host, settings.queue_port, settings.resolve_authkey)
