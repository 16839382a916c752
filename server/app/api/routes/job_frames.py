"""GET /video/jobs/{job_id}/frames/{n}.jpg: one frame of the stored input, with the
boxes the pipeline found in it drawn on top, so a person can see what was detected.

Only the one frame is decoded (seek, then read) and only that frame's result is kept;
the image is downscaled before drawing so labels stay legible on a thumbnail.
"""

from __future__ import annotations

import logging
import uuid
import zlib
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from app.api.deps import JobsDep, StorageDep
from app.api.schemas import ErrorResponse
from app.domain.errors import VideoJobsError
from app.domain.model import Job, JobStatus, input_key
from app.domain.ports import StorageService
from app.domain.results import ResultsQuery, read_page
from app.domain.services import get_job

log = logging.getLogger(__name__)
router = APIRouter(tags=["jobs"])

MAX_FRAME_INDEX = 10_000_000
JPEG_QUALITY = 85
# BGR colours, picked per label so one label keeps one colour across thumbnails.
PALETTE = ((0, 200, 255), (80, 220, 60), (255, 120, 40), (200, 60, 255), (60, 60, 255))


@router.get(
    "/video/jobs/{job_id}/frames/{n}.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the frame as a JPEG"},
        401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
        404: {
            "model": ErrorResponse,
            "description": "unknown job, frame out of range, or the input video is gone",
        },
    },
)
def job_frame(
    job_id: uuid.UUID,
    n: Annotated[int, Path(ge=0, le=MAX_FRAME_INDEX, description="frame index, from 0")],
    jobs: JobsDep,
    storage: StorageDep,
    width: Annotated[int, Query(ge=16, le=4096, description="downscale to this width")] = 480,
) -> Response:
    """Frame `n` as a JPEG; once the job is completed, its detections are drawn on it."""
    job = get_job(jobs, job_id)
    key = input_key(job_id)
    if not storage.exists(key):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the input video of job {job_id} is gone")
    result = _frame_result(storage, job, n)
    frame = read_frame(storage.local_path(key), n)
    if frame is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"frame {n} is out of range for job {job_id}"
        )
    image, scale = downscale(frame, width)
    del frame
    draw_detections(image, (result or {}).get("detections"), scale)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "JPEG encoding failed")
    # A completed job's thumbnail never changes; before that, boxes may still appear.
    cache = "private, max-age=3600" if job.status is JobStatus.COMPLETED else "no-cache"
    return Response(encoded.tobytes(), media_type="image/jpeg", headers={"Cache-Control": cache})


def _frame_result(storage: StorageService, job: Job, n: int) -> dict[str, Any] | None:
    """Frame n's result of a completed job; raises 404 when n is past the decoded frames.

    None for a job without results (not completed, or the file is unreadable)."""
    if job.status is not JobStatus.COMPLETED:
        return None
    try:  # one seek into the line-per-frame sidecar, not a parse of the whole document
        items, _ = read_page(storage, job, ResultsQuery(from_frame=n, to_frame=n, limit=1))
    except (OSError, ValueError, KeyError, VideoJobsError) as exc:
        log.warning("job %s: results unreadable for thumbnails (%s)", job.job_id, exc)
        return None
    if not items:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"frame {n} is out of range for job {job.job_id}"
        )
    return items[0].get("result")


def read_frame(path: str, n: int) -> np.ndarray | None:
    """Decode frame n alone: seek (frame-accurate in OpenCV's FFmpeg backend), then read."""
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            return None
        estimate = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        if estimate and estimate > 0 and n >= estimate:
            return None
        if n > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, n)
        ok, frame = capture.read()
        return frame if ok and frame is not None else None
    finally:
        capture.release()


def downscale(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """Shrink to `width` (never enlarge); returns the image and the scale applied."""
    height, current = frame.shape[:2]
    if current <= width:
        return frame, 1.0
    scale = width / current
    size = (width, max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def _colour(label: str) -> tuple[int, int, int]:
    return PALETTE[zlib.crc32(label.encode()) % len(PALETTE)]


def _box(detection: Any, scale: float) -> tuple[int, int, int, int] | None:
    bbox = detection.get("bbox") if isinstance(detection, dict) else None
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        return None
    try:
        x, y, w, h = (round(float(v) * scale) for v in bbox)
    except (TypeError, ValueError):
        return None
    return x, y, max(1, w), max(1, h)


def draw_detections(image: np.ndarray, detections: Any, scale: float) -> int:
    """Draw each `[x, y, w, h]` box with its label and confidence; returns how many."""
    if not isinstance(detections, list):
        return 0
    drawn = 0
    font = max(0.35, image.shape[1] / 900)  # legible at the size the image is shown
    for detection in detections:
        box = _box(detection, scale)
        if box is None:
            continue
        x, y, w, h = box
        label = str(detection.get("label", ""))
        colour = _colour(label)
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, 2)
        confidence = detection.get("confidence")
        text = f"{label} {confidence:.2f}" if isinstance(confidence, int | float) else label
        if text:
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
            top = max(0, y - th - base - 2)
            cv2.rectangle(image, (x, top), (x + tw + 4, top + th + base + 2), colour, -1)
            origin = (x + 2, top + th + 1)
            cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), 1)
        drawn += 1
    return drawn
