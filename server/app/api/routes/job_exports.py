"""GET /video/jobs/{job_id}/detections.csv, tracks.vtt, chapters.vtt, quality.csv and
annotated.mp4: files the worker wrote when the job completed, sent from disk in chunks
(flat API memory).

Like results: 404 for an unknown or unfinished job, 410 once its files were deleted.
FileResponse answers Range requests, which <video> needs to seek in annotated.mp4.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from app.api.deps import JobsDep, StorageDep
from app.api.schemas import ErrorResponse
from app.domain.model import (
    annotated_key,
    chapters_vtt_key,
    detections_csv_key,
    quality_csv_key,
    tracks_vtt_key,
)
from app.domain.options import AnalysisOptions
from app.domain.ports import JobRepository, StorageService
from app.domain.services import completed_job

router = APIRouter(tags=["exports"])

ERRORS: dict[int | str, dict] = {
    404: {"model": ErrorResponse, "description": "unknown job, not completed, or not asked for"},
    410: {"model": ErrorResponse, "description": "the job's files were deleted"},
}


def stored_export(
    jobs: JobRepository,
    storage: StorageService,
    job_id: uuid.UUID,
    key: Callable[[uuid.UUID], str],
    what: str,
    missing: str = "it completed before this export existed",
) -> str:
    """The local path of a completed job's export, or the error a client can act on."""
    completed_job(jobs, job_id)
    name = key(job_id)
    if not storage.exists(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no {what}: {missing}")
    return storage.local_path(name)


@router.get(
    "/video/jobs/{job_id}/detections.csv",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "one row per detection"},
        **ERRORS,
    },
)
def detections_csv(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
    """Header `frame_index,timestamp_ms,label,track_id,x,y,w,h,confidence,text`."""
    path = stored_export(jobs, storage, job_id, detections_csv_key, "detections.csv")
    return FileResponse(
        path, media_type="text/csv; charset=utf-8", filename=f"{job_id}_detections.csv"
    )


@router.get(
    "/video/jobs/{job_id}/tracks.vtt",
    response_class=FileResponse,
    responses={200: {"content": {"text/vtt": {}}, "description": "one cue per track"}, **ERRORS},
)
def tracks_vtt(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
    """WebVTT, one cue `<label> #<track_id>` per track (a <track> for the <video>)."""
    path = stored_export(jobs, storage, job_id, tracks_vtt_key, "tracks.vtt")
    return FileResponse(path, media_type="text/vtt; charset=utf-8")


@router.get(
    "/video/jobs/{job_id}/chapters.vtt",
    response_class=FileResponse,
    responses={200: {"content": {"text/vtt": {}}, "description": "one cue per shot"}, **ERRORS},
)
def chapters_vtt(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
    """WebVTT chapters, one cue `Shot <n>` per shot (a <track kind="chapters">)."""
    path = stored_export(jobs, storage, job_id, chapters_vtt_key, "chapters.vtt")
    return FileResponse(path, media_type="text/vtt; charset=utf-8")


@router.get(
    "/video/jobs/{job_id}/quality.csv",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "one row per analysed frame"},
        **ERRORS,
    },
)
def quality_csv(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
    """Header `frame_index,timestamp_ms,brightness,contrast,sharpness` (pipelines with
    the quality step)."""
    path = stored_export(
        jobs,
        storage,
        job_id,
        quality_csv_key,
        "quality.csv",
        "its pipeline has no quality step (or it completed before this export existed)",
    )
    return FileResponse(
        path, media_type="text/csv; charset=utf-8", filename=f"{job_id}_quality.csv"
    )


@router.get(
    "/video/jobs/{job_id}/annotated.mp4",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "H.264 in MP4, Range supported"},
        **ERRORS,
    },
)
def annotated_mp4(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
    """The analysed frames with boxes, labels and track ids (jobs with annotate=true)."""
    job = completed_job(jobs, job_id)
    if not AnalysisOptions.from_dict(job.options).annotate:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"job {job_id} was not submitted with annotate=true: it has no annotated video",
        )
    path = stored_export(jobs, storage, job_id, annotated_key, "annotated video")
    return FileResponse(path, media_type="video/mp4")
