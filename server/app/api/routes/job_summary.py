"""GET /video/jobs/{job_id}/summary: shots, per-label totals and tracks.

The worker writes the summary when the job completes (adapters/exports/summary.py); this route
only sends the file. 404/410 as for results.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from app.api.deps import JobsDep, StorageDep
from app.api.routes.job_exports import ERRORS, stored_export
from app.domain.model import summary_key

router = APIRouter(tags=["jobs"])


class Keyframe(BaseModel):
    frame_index: int
    timestamp_ms: int


class Shot(BaseModel):
    index: int
    start_frame: int
    end_frame: int
    start_ms: int
    end_ms: int
    keyframe: Keyframe | None = None  # its JPEG: GET /video/jobs/{id}/shots/{index}.jpg


class BlackSegment(BaseModel):
    start_ms: int
    end_ms: int
    start_frame: int
    end_frame: int


class LabelTotals(BaseModel):
    label: str
    tracks: int
    frames: int
    screen_time_ms: int
    max_confidence: float


class Track(BaseModel):
    track_id: int
    label: str
    first_frame: int
    last_frame: int
    start_ms: int
    end_ms: int
    frames: int
    max_confidence: float
    best_frame: int
    best_bbox: list[int]


class LineCount(BaseModel):
    label: str
    in_: int = Field(alias="in", description="crossings from s < 0 to s > 0")
    out: int


class LineSummary(BaseModel):
    name: str
    counts: list[LineCount]


class ZoneCount(BaseModel):
    label: str
    entries: int
    exits: int
    individuals: int
    mean_dwell_ms: int
    max_dwell_ms: int
    peak_occupancy: int
    peak_ms: int


class ZoneSummary(BaseModel):
    name: str
    counts: list[ZoneCount]


class SummaryResponse(BaseModel):
    job_id: str
    video: dict
    warnings: list[str]
    shots: list[Shot]
    black_segments: list[BlackSegment] = []  # runs of 2+ black or nearly uniform frames
    labels: list[LabelTotals]
    tracks: list[Track]
    # Only for jobs submitted with `zones`.
    lines: list[LineSummary] | None = None
    zones: list[ZoneSummary] | None = None


@router.get(
    "/video/jobs/{job_id}/summary",
    response_class=FileResponse,
    responses={200: {"model": SummaryResponse, "description": "the job's summary"}, **ERRORS},
)
def job_summary(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
    """What is in the video, when, for how long: shots, labels (tracks, frames with the
    label, screen time, best confidence) and tracks (first/last frame and time, best
    frame and box)."""
    path = stored_export(jobs, storage, job_id, summary_key, "summary")
    return FileResponse(path, media_type="application/json")
