"""The composition root: builds adapters from Settings for the API, the worker and tests.

Nothing is built at import time; each entrypoint calls these once and passes them down.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from sqlalchemy import Engine

from app.adapters.db.engine import build_engine, build_session_factory
from app.adapters.db.sqlalchemy_repository import SqlAlchemyJobRepository
from app.adapters.media.inspector import Mp4Inspector
from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.queue.manager import ManagerQueueClient, ManagerQueueServer
from app.adapters.queue.redis_queue import RedisQueue
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.errors import QueueUnavailable
from app.domain.ports import QueueService, VideoInspector
from app.settings import Settings


@dataclass
class Database:
    engine: Engine
    jobs: SqlAlchemyJobRepository

    def close(self) -> None:
        self.engine.dispose()


def build_database(settings: Settings, *, pool_size: int = 5) -> Database:
    engine = build_engine(settings.database_url, pool_size=pool_size)
    return Database(engine, SqlAlchemyJobRepository(build_session_factory(engine)))


def build_storage(settings: Settings) -> FilesystemStorage:
    return FilesystemStorage(settings.storage_dir, settings.data_dir)


def build_runner(settings: Settings) -> VideoFilePipelineService:
    return VideoFilePipelineService(PipelineCatalog.load(settings.pipelines_dir))


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
    return ManagerQueueClient(settings.queue_host, settings.queue_port, settings.resolve_authkey())
