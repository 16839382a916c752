"""GET /video/jobs: the jobs, newest first, filtered by status or tag, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import JobsDep
from app.api.routes.job_status import status_of
from app.api.schemas import ErrorResponse, JobListResponse
from app.domain.model import JobStatus
from app.domain.options import MAX_TAG_CHARS

router = APIRouter(tags=["jobs"])

MAX_LIMIT = 500
# Past any real listing; keeps the OFFSET within every database's integer range.
MAX_OFFSET = 1_000_000_000


@router.get(
    "/video/jobs",
    response_model=JobListResponse,
    responses={401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"}},
)
def list_jobs(
    jobs: JobsDep,
    status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
    tag: Annotated[
        str | None,
        Query(max_length=MAX_TAG_CHARS, description="only jobs submitted with this tag (exact)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="jobs to skip")] = 0,
    include_segments: Annotated[
        bool, Query(description="also list the segment jobs of long videos split across workers")
    ] = False,
) -> JobListResponse:
    """The jobs newest first, each as GET /video/status returns it; page with offset
    until it reaches `total`."""
    tag = (tag or "").strip() or None  # stored stripped at submit; empty: no filter
    page = jobs.list_jobs(
        status=status, tag=tag, limit=limit, offset=offset, include_segments=include_segments
    )
    total = jobs.count_jobs(status=status, tag=tag, include_segments=include_segments)
    return JobListResponse(
        jobs=[status_of(job, jobs) for job in page], limit=limit, offset=offset, total=total
    )
