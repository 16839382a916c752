"""The ASGI app: `app.api.main:app`, built by `create_app()`.

Adapters are built in the lifespan, not at import: the API migrates the database to
head, starts serving the queue, runs a first recovery sweep, then takes requests.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from app.adapters.db.migrate import migrate_to_head
from app.adapters.webhooks.httpx_sender import HttpxWebhookSender
from app.api.auth import ApiKeyMiddleware
from app.api.compression import install_compression
from app.api.deps import reject_unknown_query_parameters, require_api_key
from app.api.errors import install_error_handlers
from app.api.middleware import UploadLimitMiddleware
from app.api.routes import (
    api_docs,
    health,
    job_cancel,
    job_exports,
    job_frames,
    job_list,
    job_results,
    job_shots,
    job_status,
    job_submit,
    job_summary,
    metrics,
    pipelines,
    search,
    web,
)
from app.api.schemas import ErrorResponse, ValidationErrorResponse
from app.api.security_headers import SecurityHeadersMiddleware
from app.api.sweeper import Sweeper
from app.api.webhook_dispatcher import WebhookDispatcher
from app.bootstrap import (
    build_api_queue,
    build_database,
    build_inspector,
    build_limits,
    build_runner,
    build_storage,
)
from app.logging_setup import configure_logging
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)

VIDEO_ROUTERS = (
    job_submit.router,
    job_status.router,
    job_results.router,
    pipelines.router,
    job_list.router,
    job_frames.router,
    job_cancel.router,
    job_summary.router,
    job_shots.router,
    job_exports.router,
    search.router,
)


# Declared on every /video route: the key check.
VIDEO_RESPONSES: dict[int | str, dict] = {
    401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
}


def _truthful_openapi(app: FastAPI, settings: Settings | None) -> None:
    """Make the schema say what the running API does.

    FastAPI documents 422 as its own HTTPValidationError; ours sends {"detail": str,
    "errors": [...]}. And the X-API-Key scheme is only required when a key is set.
    """
    generate = app.openapi

    def openapi() -> dict:
        schema = copy.deepcopy(generate())
        components = schema.setdefault("components", {})
        ours = ValidationErrorResponse.model_json_schema()
        ours["title"] = "HTTPValidationError"
        components.setdefault("schemas", {})["HTTPValidationError"] = ours
        current = settings or getattr(app.state, "settings", None)
        if current is not None and current.api_key is None:
            components.pop("securitySchemes", None)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.pop("security", None)
                    operation.get("responses", {}).pop("401", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _video_routes() -> APIRouter:
    router = APIRouter(
        dependencies=[Depends(require_api_key), Depends(reject_unknown_query_parameters)],
        responses=VIDEO_RESPONSES,
    )
    for module_router in VIDEO_ROUTERS:
        router.include_router(module_router)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_settings()
        configure_logging(current.log_level, current.log_format)
        database = build_database(current)
        migrate_to_head(database.engine)
        queue = build_api_queue(current)
        app.state.settings = current
        app.state.jobs = database.jobs
        app.state.search = database.search
        app.state.storage = build_storage(current)
        app.state.runner = build_runner(current)
        app.state.queue = queue
        app.state.inspector = build_inspector(current)
        app.state.limits = build_limits(current)  # checked at submit and by the worker
        sweeper = Sweeper(
            current, database.jobs, queue, app.state.storage, search=database.search
        ).start()
        sender = HttpxWebhookSender(
            current.webhook_timeout_s, allow_private=current.webhook_allow_private
        )
        webhooks = WebhookDispatcher(current, database.jobs, sender).start()
        log.info("API ready; data in %s", current.data_dir)
        try:
            yield
        finally:
            if getattr(app.state, "frame_pool", None) is not None:
                app.state.frame_pool.shutdown()
            webhooks.stop()
            sender.close()
            sweeper.stop()
            queue.close()
            database.close()
            log.info("API stopped")

    app = FastAPI(
        title="Video job service",
        version="0.16.0",
        description="Upload an MP4, get a job id at once, poll it, read per-frame analysis.",
        lifespan=lifespan,
        docs_url=None,  # served by api_docs from a package, not from a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    _truthful_openapi(app, settings)
    app.add_middleware(UploadLimitMiddleware, limit=lambda: app.state.settings.max_upload_bytes)
    # Added after the size limit, so it runs before it: a keyless request is answered
    # 401 from its headers, before anything reads (or spools) its body.
    app.add_middleware(ApiKeyMiddleware, api_key=lambda: app.state.settings.api_key)
    install_compression(app)  # compresses what every route answers
    # Outermost: the headers go on every answer, the middlewares' own 401 and 413 too.
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(_video_routes())
    app.include_router(health.router)
    legacy = APIRouter(prefix="/v1", include_in_schema=False)
    legacy.include_router(_video_routes())
    legacy.include_router(health.router)
    app.include_router(legacy)
    # Not /video routes: no API key, not in the OpenAPI schema (operators and browsers).
    app.include_router(metrics.router)
    app.include_router(web.router)
    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS_URL, api_docs.static_files(), name="docs-assets")
    app.mount("/web", web.static_files(), name="web")
    return app


app = create_app()
