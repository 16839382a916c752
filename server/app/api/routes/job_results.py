"""GET /video/results/{job_id}."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import JobsDep, StorageDep
from app.api.schemas import ErrorResponse, ResultsResponse
from app.domain.services import get_results

router = APIRouter(tags=["jobs"])


@router.get(
    "/video/results/{job_id}",
    response_model=ResultsResponse,
    responses={404: {"model": ErrorResponse, "description": "unknown job, or not completed"}},
)
def job_results(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> JSONResponse:
    """The per-frame results of a completed job, in frame order."""
    document = get_results(jobs, storage, job_id)
    document["created_at"] = document["created_at"].isoformat()
    document["updated_at"] = document["updated_at"].isoformat()
    # Returned as-is: re-validating every frame through the model would only cost time.
    return JSONResponse(document)
