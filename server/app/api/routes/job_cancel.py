"""DELETE /video/jobs/{job_id}: cancel a live job, or purge a finished job's files."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import JobsDep, SearchDep, StorageDep
from app.api.routes.job_status import status_of
from app.api.schemas import ErrorResponse, JobStatusResponse
from app.domain.control import cancel_or_delete_job

router = APIRouter(tags=["jobs"])


@router.delete(
    "/video/jobs/{job_id}",
    response_model=JobStatusResponse,
    responses={
        200: {"description": "the job was pending or running and is now canceled"},
        204: {"description": "purge=true on a finished job: its input and results were deleted"},
        404: {"model": ErrorResponse, "description": "no job with this id"},
        409: {
            "model": ErrorResponse,
            "description": "the job is already finished and purge=true was not given: "
            "nothing was changed",
        },
    },
)
def cancel_job(
    job_id: uuid.UUID,
    jobs: JobsDep,
    storage: StorageDep,
    search: SearchDep,
    purge: Annotated[
        bool,
        Query(description="on a finished job, delete its stored files (results then 410)"),
    ] = False,
):
    """Cancel a pending job at once, or a running one within about a second. A finished
    job (completed, failed or canceled) is a 409 that keeps everything, unless
    `purge=true`: then its stored files are deleted; the row stays."""
    canceled, job = cancel_or_delete_job(jobs, storage, job_id, purge=purge, search=search)
    if canceled:
        return status_of(job, jobs)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
