"""The composition root: builds adapters from Settings for the API, the worker and tests.

Nothing is built at import time; each entrypoint calls these once and passes them down.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from app.adapters.db.engine import build_engine, build_session_factory
from app.adapters.db.sqlalchemy_repository import SqlAlchemyJobRepository
from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.queue.manager import ManagerQueueClient, ManagerQueueServer
from app.adapters.storage.filesystem import FilesystemStorage
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


def build_queue_server(settings: Settings) -> ManagerQueueServer:
    return ManagerQueueServer(settings.queue_host, settings.queue_port, settings.resolve_authkey())


def build_queue_client(settings: Settings) -> ManagerQueueClient:
    return ManagerQueueClient(settings.queue_host, settings.queue_port, settings.resolve_authkey())
