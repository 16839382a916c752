"""Domain errors become HTTP responses here, in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from app.domain.errors import (
    InsufficientStorage,
    InvalidUpload,
    JobNotCompleted,
    JobNotFound,
    QueueUnavailable,
    UnknownPipeline,
    UploadTooLarge,
    VideoJobsError,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[VideoJobsError], int] = {
    InvalidUpload: status.HTTP_400_BAD_REQUEST,
    UnknownPipeline: status.HTTP_400_BAD_REQUEST,
    UploadTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    InsufficientStorage: status.HTTP_507_INSUFFICIENT_STORAGE,
    JobNotFound: status.HTTP_404_NOT_FOUND,
    JobNotCompleted: status.HTTP_404_NOT_FOUND,
    QueueUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def _status_for(exc: VideoJobsError) -> int:
    for error_type in type(exc).__mro__:
        if error_type in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[error_type]
    return status.HTTP_500_INTERNAL_SERVER_ERROR


async def domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    code = _status_for(exc)  # type: ignore[arg-type]
    if code >= 500:
        log.error("request failed: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VideoJobsError, domain_error_handler)
