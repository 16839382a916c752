"""The ASGI app: `app.api.main:app`, built by `create_app()`.

Adapters are built in the lifespan, not at import: the API migrates the database to
head, starts serving the queue, runs a first recovery sweep, then takes requests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from app.adapters.db.migrate import migrate_to_head
from app.api.deps import require_api_key
from app.api.errors import install_error_handlers
from app.api.middleware import UploadLimitMiddleware
from app.api.routes import health, job_results, job_status, job_submit, pipelines
from app.api.sweeper import Sweeper
from app.bootstrap import build_api_queue, build_database, build_runner, build_storage
from app.logging_setup import configure_logging
from app.settings import Settings

log = logging.getLogger(__name__)

VIDEO_ROUTERS = (job_submit.router, job_status.router, job_results.router, pipelines.router)


def _video_routes() -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_api_key)])
    for module_router in VIDEO_ROUTERS:
        router.include_router(module_router)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or Settings()
        configure_logging()
        database = build_database(current)
        migrate_to_head(database.engine)
        queue = build_api_queue(current)
        app.state.settings = current
        app.state.jobs = database.jobs
        app.state.storage = build_storage(current)
        app.state.runner = build_runner(current)
        app.state.queue = queue
        sweeper = Sweeper(current, database.jobs, queue).start()
        log.info("API ready; data in %s", current.data_dir)
        try:
            yield
        finally:
            sweeper.stop()
            queue.close()
            database.close()
            log.info("API stopped")

    app = FastAPI(
        title="Video job service",
        version="0.16.0",
        description="Upload an MP4, get a job id at once, poll it, read per-frame analysis.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(UploadLimitMiddleware, limit=lambda: app.state.settings.max_upload_bytes)
    app.include_router(_video_routes())
    app.include_router(health.router)
    legacy = APIRouter(prefix="/v1", include_in_schema=False)
    legacy.include_router(_video_routes())
    legacy.include_router(health.router)
    app.include_router(legacy)
    return app


app = create_app()
