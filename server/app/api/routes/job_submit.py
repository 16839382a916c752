"""POST /video/submit: store the upload, insert the job row, enqueue its id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, HTTPException, Query, UploadFile, status

from app.adapters.net.resolver import resolve_host
from app.api.deps import (
    InspectorDep,
    JobsDep,
    LimitsDep,
    QueueDep,
    RunnerDep,
    SettingsDep,
    StorageDep,
)
from app.api.ignored_fields import IgnoredFieldsDep
from app.api.schemas import ErrorResponse, SubmitResponse
from app.api.submit_fields import SubmitFieldsDep
from app.api.upload import SubmitRoute
from app.domain.options import display_filename
from app.domain.ports import StagedUpload
from app.domain.services import iter_chunks, submit_video
from app.domain.webhooks import MAX_CALLBACK_URL, validate_callback_url

# Text a client sends is never echoed whole: ids as the catalog's id pattern allows.
MAX_PIPELINE_ID_CHARS = 64

# SubmitRoute: the body is parsed as it arrives, the file written into DATA_DIR.
router = APIRouter(tags=["jobs"], route_class=SubmitRoute)


@router.post(
    "/video/submit",
    response_model=SubmitResponse,
    responses={
        400: {
            "model": ErrorResponse,
            "description": "not an MP4, empty, unknown pipeline, or a bad option",
        },
        401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
        409: {
            "model": ErrorResponse,
            "description": "Idempotency-Key reused with another file or other fields",
        },
        413: {
            "model": ErrorResponse,
            "description": "the upload, or a form field (64 KiB), is over its size limit",
        },
        507: {"model": ErrorResponse, "description": "the disk is full or below MIN_FREE_BYTES"},
    },
)
def submit(
    file: Annotated[UploadFile, File(description="the MP4 to analyse")],
    settings: SettingsDep,
    jobs: JobsDep,
    queue: QueueDep,
    storage: StorageDep,
    runner: RunnerDep,
    inspector: InspectorDep,
    limits: LimitsDep,
    fields: SubmitFieldsDep,
    ignored: IgnoredFieldsDep,
    pipeline_form: Annotated[str | None, Form(alias="pipeline_id")] = None,
    pipeline_query: Annotated[str | None, Query(alias="pipeline_id")] = None,
    callback_url: Annotated[
        str | None,
        Form(description="http(s) URL to POST a signed event to when the job finishes"),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="repeat a submit safely: same key + same file + same pipeline "
            "and fields returns the first job (anything different is 409); kept at least "
            "24 h",
        ),
    ] = None,
) -> SubmitResponse:
    """Accept an MP4 and return its job id at once; a worker does the analysis."""
    _check_lengths(pipeline_form, pipeline_query, callback_url)
    if pipeline_form and pipeline_query and pipeline_form != pipeline_query:
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST,
            detail=f"pipeline_id given twice and they differ: form {pipeline_form!r}, "
            f"query {pipeline_query!r}",
        )
    pipeline_id = pipeline_form or pipeline_query or settings.default_pipeline
    if callback_url:
        validate_callback_url(
            callback_url,
            secret_configured=settings.webhook_secret is not None,
            allow_private=settings.webhook_allow_private,
            resolve=resolve_host,
        )
    if fields.options.callback_events and not callback_url:
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST,
            detail="callback_events needs a callback_url to send the zone events to",
        )
    job = submit_video(
        _upload_of(file),
        pipeline_id,
        jobs=jobs,
        queue=queue,
        storage=storage,
        runner=runner,
        max_bytes=settings.max_upload_bytes,
        min_free_bytes=settings.min_free_bytes,
        idempotency_key=idempotency_key or None,
        callback_url=callback_url or None,
        inspector=inspector,
        limits=limits,
        options=fields.options,
        tag=fields.tag,
        filename=display_filename(file.filename),
        warnings=ignored,
    )
    return SubmitResponse(
        job_id=job.job_id,
        status=job.status.value,
        pipeline_id=job.pipeline_id,
        warnings=job.warnings or [],
    )


def _upload_of(file: UploadFile) -> StagedUpload | Iterator[bytes]:
    """The file SubmitRoute already wrote into DATA_DIR (moved into place, not copied)."""
    staged = getattr(file, "staged", None)
    return staged if isinstance(staged, StagedUpload) else iter_chunks(file.file.read)


def _check_lengths(*values_and_url: str | None) -> None:
    """400 for a pipeline_id or callback_url longer than any valid one, before either is
    used or echoed in a message."""
    *pipeline_ids, callback_url = values_and_url
    for value in pipeline_ids:
        if value is not None and len(value) > MAX_PIPELINE_ID_CHARS:
            raise HTTPException(
                status_code=status.HTTP_400_BAD_REQUEST,
                detail=f"pipeline_id is {len(value)} characters long; pipeline ids have at "
                f"most {MAX_PIPELINE_ID_CHARS} (GET /video/pipelines lists them)",
            )
    if callback_url is not None and len(callback_url) > MAX_CALLBACK_URL:
        raise HTTPException(  # the words of validate_callback_url, which checks it too
            status_code=status.HTTP_400_BAD_REQUEST,
            detail=f"callback_url is {len(callback_url)} characters; at most "
            f"{MAX_CALLBACK_URL} are accepted",
        )
