"""Dependencies: the services built at start-up, and the API-key check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from app.domain.frames import FrameLimits
from app.domain.ports import (
    JobRepository,
    PipelineRunner,
    QueueService,
    SearchIndex,
    StorageService,
    VideoInspector,
)
from app.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_jobs(request: Request) -> JobRepository:
    return request.app.state.jobs


def get_search(request: Request) -> SearchIndex:
    return request.app.state.search


def get_storage(request: Request) -> StorageService:
    return request.app.state.storage


def get_runner(request: Request) -> PipelineRunner:
    return request.app.state.runner


def get_queue(request: Request) -> QueueService:
    return request.app.state.queue


def get_inspector(request: Request) -> VideoInspector:
    return request.app.state.inspector


def get_limits(request: Request) -> FrameLimits:
    return request.app.state.limits


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[JobRepository, Depends(get_jobs)]
StorageDep = Annotated[StorageService, Depends(get_storage)]
SearchDep = Annotated[SearchIndex, Depends(get_search)]
RunnerDep = Annotated[PipelineRunner, Depends(get_runner)]
QueueDep = Annotated[QueueService, Depends(get_queue)]
InspectorDep = Annotated[VideoInspector, Depends(get_inspector)]
LimitsDep = Annotated[FrameLimits, Depends(get_limits)]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_known_query: dict[int, frozenset[str]] = {}


def _query_names(dependant) -> set[str]:
    """Query parameter names of a route and of every dependency it uses."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def reject_unknown_query_parameters(request: Request) -> None:
    """422 for a query parameter the route does not take: `?pipline_id=faces` is a typo
    the client wants to hear about, not a default pipeline silently used instead."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _known_query.get(id(route))
    if known is None:
        known = _known_query[id(route)] = frozenset(_query_names(route.dependant))
    unknown = sorted(set(request.query_params) - known)
    takes = ", ".join(sorted(known)) or "none"
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": f"unknown query parameter; this route takes: {takes}",
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )


def require_api_key(
    settings: SettingsDep, api_key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """When VIDEO_JOBS_API_KEY is set, every /video route needs it (constant-time compare).

    ApiKeyMiddleware (auth.py) has already refused a wrong key before the body was
    read; this dependency declares the scheme in the OpenAPI schema and checks again."""
    expected = settings.api_key
    if expected is None:
        return
    if api_key is None or not secrets.compare_digest(api_key.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong X-API-Key header",
        )
