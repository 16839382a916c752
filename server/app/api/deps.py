"""Dependencies: the services built at start-up, and the API-key check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from app.domain.ports import JobRepository, PipelineRunner, QueueService, StorageService
from app.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_jobs(request: Request) -> JobRepository:
    return request.app.state.jobs


def get_storage(request: Request) -> StorageService:
    return request.app.state.storage


def get_runner(request: Request) -> PipelineRunner:
    return request.app.state.runner


def get_queue(request: Request) -> QueueService:
    return request.app.state.queue


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[JobRepository, Depends(get_jobs)]
StorageDep = Annotated[StorageService, Depends(get_storage)]
RunnerDep = Annotated[PipelineRunner, Depends(get_runner)]
QueueDep = Annotated[QueueService, Depends(get_queue)]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def require_api_key(
    settings: SettingsDep, api_key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """When VIDEO_JOBS_API_KEY is set, every /video route needs it (constant-time compare)."""
    expected = settings.api_key
    if expected is None:
        return
    if api_key is None or not secrets.compare_digest(api_key.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong X-API-Key header",
        )
