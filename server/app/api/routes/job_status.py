"""GET /video/status/{job_id}."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter

from app.api.deps import JobsDep
from app.api.schemas import ErrorResponse, JobStatusResponse, SegmentsResponse
from app.domain.model import Job, JobStatus
from app.domain.options import AnalysisOptions
from app.domain.ports import JobRepository
from app.domain.segments import with_segments
from app.domain.services import get_job

router = APIRouter(tags=["jobs"])


def status_of(job: Job, jobs: JobRepository | None = None) -> JobStatusResponse:
    """The status shape; with `jobs`, a split job's segments are read and shown."""
    segments = None
    if jobs is not None and job.segments_total and job.parent_id is None:
        job, counts = with_segments(job, jobs.segments(job.job_id))
        segments = SegmentsResponse(**asdict(counts))
    return JobStatusResponse(
        job_id=job.job_id,
        status=job.status.value,
        progress=job.status.progress,
        created_at=job.created_at,
        updated_at=job.updated_at,
        pipeline_id=job.pipeline_id,
        error_message=job.error_message,
        frames_done=job.frames_done,
        frames_total=job.frames_total,
        frames_total_is_estimate=job.status is not JobStatus.COMPLETED,
        fps=job.processing_fps,
        eta_s=job.eta_s,
        files_deleted_at=job.files_deleted_at,
        warnings=job.warnings or [],
        options=AnalysisOptions.from_dict(job.options).to_dict(),
        filename=job.filename,
        tag=job.tag,
        segments=segments,
        parent_id=job.parent_id,
        segment_index=job.segment_index,
    )


@router.get(
    "/video/status/{job_id}",
    response_model=JobStatusResponse,
    responses={404: {"model": ErrorResponse, "description": "no job with this id"}},
)
def job_status(job_id: uuid.UUID, jobs: JobsDep) -> JobStatusResponse:
    """Where a job is: pending, running, completed or failed."""
    return status_of(get_job(jobs, job_id), jobs)
