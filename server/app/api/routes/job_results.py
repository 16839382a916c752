"""GET /video/results/{job_id}: the whole document, or one filtered page of it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import JobsDep, SettingsDep, StorageDep
from app.api.file_responses import StoredDocumentResponse
from app.api.schemas import ErrorResponse, ResultsResponse
from app.domain.control import get_results_document, get_results_page
from app.domain.results_pages import ResultsQuery

router = APIRouter(tags=["jobs"])
MAX_PAGE = 10_000


@router.get(
    "/video/results/{job_id}",
    response_model=ResultsResponse,
    responses={
        404: {"model": ErrorResponse, "description": "unknown job, or not completed"},
        410: {
            "model": ErrorResponse,
            "description": "the job's files were deleted, or are missing from storage",
        },
    },
)
def job_results(
    job_id: uuid.UUID,
    jobs: JobsDep,
    storage: StorageDep,
    settings: SettingsDep,
    offset: Annotated[int | None, Query(ge=0, description="frames of the range to skip")] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="page size")] = None,
    label: Annotated[str | None, Query(max_length=64, description="keep detections")] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    from_frame: Annotated[int | None, Query(ge=0, description="first frame (inclusive)")] = None,
    to_frame: Annotated[int | None, Query(ge=0, description="last frame (inclusive)")] = None,
) -> Response:
    """The per-frame results of a completed job, in frame order. With no parameters, the
    whole document; with any, one page of it plus `next_offset` (null at the end).

    A page examines at most VIDEO_JOBS_RESULTS_SCAN_FRAMES frames (default 10,000),
    matching or not, and holds at most VIDEO_JOBS_RESULTS_PAGE_BYTES of items (default
    4 MiB, at least one item): a page may hold fewer than `limit` items, and
    `next_offset` says where to continue. Pages are sent from disk as they are read."""
    paged = (offset, limit, label, min_confidence, from_frame, to_frame)
    if all(value is None for value in paged):
        # Sent from disk as stored, in chunks: a 41 MB document never sits in memory.
        return StoredDocumentResponse(get_results_document(jobs, storage, job_id))
    query = ResultsQuery(
        offset=offset or 0,
        limit=limit or 100,
        label=label,
        min_confidence=min_confidence,
        from_frame=from_frame or 0,
        to_frame=to_frame,
        max_scan=settings.results_scan_frames,
        max_bytes=settings.results_page_bytes,
    )
    return StoredDocumentResponse(get_results_page(jobs, storage, job_id, query))
