"""Domain errors become HTTP responses here, in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.domain.errors import (
    IdempotencyConflict,
    InsufficientStorage,
    InvalidCallbackUrl,
    InvalidOptions,
    InvalidUpload,
    JobAlreadyFinished,
    JobFilesGone,
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
    InvalidOptions: status.HTTP_400_BAD_REQUEST,
    UnknownPipeline: status.HTTP_400_BAD_REQUEST,
    UploadTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    InsufficientStorage: status.HTTP_507_INSUFFICIENT_STORAGE,
    JobNotFound: status.HTTP_404_NOT_FOUND,
    JobNotCompleted: status.HTTP_404_NOT_FOUND,
    QueueUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    IdempotencyConflict: status.HTTP_409_CONFLICT,
    JobAlreadyFinished: status.HTTP_409_CONFLICT,
    InvalidCallbackUrl: status.HTTP_400_BAD_REQUEST,
    JobFilesGone: status.HTTP_410_GONE,
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


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """422 keeps the contract's shape: `detail` is a sentence; `errors` has the specifics."""
    errors = exc.errors()  # type: ignore[attr-defined]
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    detail = "invalid request: " + "; ".join(parts) if parts else "invalid request"
    return JSONResponse(
        {"detail": detail, "errors": jsonable_encoder(errors)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VideoJobsError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
