"""DELETE /video/jobs/{job_id}: cancel a live job, or delete a finished job's files."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import JobsDep, StorageDep
from app.api.routes.job_status import status_of
from app.api.schemas import ErrorResponse, JobStatusResponse
from app.domain.control import cancel_or_delete_job

router = APIRouter(tags=["jobs"])


@router.delete(
    "/video/jobs/{job_id}",
    response_model=JobStatusResponse,
    responses={
        200: {"description": "the job was pending or running and is now canceled"},
        204: {"description": "the job was finished; its input and results were deleted"},
        404: {"model": ErrorResponse, "description": "no job with this id"},
    },
)
def cancel_job(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep):
    """Cancel a pending job at once, or a running one within about a second. On a
    finished job (completed, failed or canceled) delete its stored files; the row stays."""
    canceled, job = cancel_or_delete_job(jobs, storage, job_id)
    if canceled:
        return status_of(job)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
