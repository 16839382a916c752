"""Response models: what the OpenAPI schema promises clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer

# ISO-8601 with an explicit +00:00 offset, as the contract asks.
UtcTimestamp = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str)]


class ErrorResponse(BaseModel):
    detail: str


class ValidationErrorResponse(BaseModel):
    detail: str = Field(description="what is wrong with the request, in one sentence")
    errors: list[dict[str, Any]] = Field(description="one entry per invalid field")


class SubmitResponse(BaseModel):
    job_id: uuid.UUID
    status: str = Field(examples=["pending"])
    pipeline_id: str
    warnings: list[str] = Field(
        default_factory=list,
        description="what the submit ignored or changed (an unknown form field, an end_s "
        "past the end of the video); the job's warnings start with the same sentences",
    )


class SegmentsResponse(BaseModel):
    total: int = Field(description="segments the video was split into")
    completed: int
    running: int
    failed: int


class JobStatusResponse(BaseModel):
    job_id: uuid.UUID
    status: str = Field(description="pending, running, completed, failed or canceled")
    progress: float = Field(
        description="0.0 pending, 0.5 running, 1.0 completed, failed or canceled"
    )
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    pipeline_id: str
    error_message: str | None
    frames_done: int = Field(0, description="frames analysed so far")
    frames_total: int | None = Field(
        None, description="frames the job will analyse (its time range and sampling)"
    )
    frames_total_is_estimate: bool = Field(
        True, description="true while frames_total is estimated from the container"
    )
    fps: float | None = Field(None, description="processing rate, frames per second")
    eta_s: float | None = Field(None, description="seconds left at that rate (running only)")
    files_deleted_at: UtcTimestamp | None = Field(
        None, description="when the input and results were deleted (DELETE or retention)"
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="sentences saying what went wrong quietly (a truncated video, capped "
        "detections); empty when all is well",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="the analysis options the job runs with"
    )
    filename: str | None = Field(None, description="the uploaded file's name (display only)")
    tag: str | None = Field(None, description="the free-text tag given at submit")
    segments: SegmentsResponse | None = Field(
        None,
        description="a long video analysed as segments by several workers: how many, and "
        "where they are (null for a job analysed whole)",
    )
    parent_id: uuid.UUID | None = Field(
        None, description="a segment (listed with include_segments=true): its job"
    )
    segment_index: int | None = Field(None, description="a segment: its place, from 0")


class VideoInfo(BaseModel):
    fps: float
    frame_count: int = Field(description="frames actually decoded")
    width: int
    height: int
    duration_s: float


class FrameResult(BaseModel):
    frame_index: int
    result: dict[str, Any]


class ResultsResponse(BaseModel):
    job_id: uuid.UUID
    pipeline_id: str
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    video: VideoInfo
    results: list[FrameResult]
    options: dict[str, Any] = Field(
        default_factory=dict, description="the analysis options the job ran with"
    )
    filename: str | None = Field(None, description="the uploaded file's name (display only)")
    tag: str | None = Field(None, description="the free-text tag given at submit")
    offset: int | None = Field(None, description="paged requests only: the offset asked for")
    limit: int | None = Field(None, description="paged requests only: the page size")
    next_offset: int | None = Field(
        None, description="paged requests only: pass as offset for the next page; null at the end"
    )


class PipelineResponse(BaseModel):
    id: str
    description: str
    labels: list[str] = Field(
        default_factory=list,
        description="the detection labels it can emit (what `labels` at submit may name); "
        "empty when it emits none or does not declare them",
    )
    default: bool = Field(
        default=False,
        description="true for the one a submit naming no pipeline runs "
        "(VIDEO_JOBS_DEFAULT_PIPELINE)",
    )


class HealthResponse(BaseModel):
    status: str = Field(description="healthy or unhealthy")
    database: str
    queue: str
    disk: str = Field(default="ok", description="ok, or free space under MIN_FREE_BYTES")
    queue_depth: int | None = None
    free_bytes: int | None = Field(default=None, description="free bytes under DATA_DIR")
    workers: str = Field(
        default="ok",
        description="ok, or the workers that reported they cannot load a model, and why",
    )


class JobListResponse(BaseModel):
    jobs: list[JobStatusResponse] = Field(description="newest first; same shape as the status")
    limit: int
    offset: int
    total: int = Field(description="jobs matching the filters, on every page")
