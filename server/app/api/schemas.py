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


class SubmitResponse(BaseModel):
    job_id: uuid.UUID
    status: str = Field(examples=["pending"])
    pipeline_id: str


class JobStatusResponse(BaseModel):
    job_id: uuid.UUID
    status: str = Field(description="pending, running, completed or failed")
    progress: float = Field(description="0.0 pending, 0.5 running, 1.0 completed or failed")
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    pipeline_id: str
    error_message: str | None


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


class PipelineResponse(BaseModel):
    id: str
    description: str


class HealthResponse(BaseModel):
    status: str = Field(description="healthy or unhealthy")
    database: str
    queue: str
    queue_depth: int | None = None
