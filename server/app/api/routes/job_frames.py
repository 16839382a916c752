"""GET /video/jobs/{job_id}/frames/{n}.jpg: one frame of a completed job's video, with
the boxes the pipeline found in it drawn on top, so a person can see what was detected.

Decoding is the one costly thing the API does, so it is bounded three ways: a pool of
its own (api/frame_pool.py: a few at a time, 503 + Retry-After beyond), a pixel budget
(VIDEO_JOBS_MAX_PIXELS) and a decode budget: frame n may lie at most
VIDEO_JOBS_FRAME_DECODE_BUDGET frames past its keyframe, checked first against the MP4
header and then against the frames actually decoded (a header can lie), and the decode
may take at most VIDEO_JOBS_FRAME_DECODE_TIMEOUT_S.
The route is async and awaits the pool: /health and /video/status never wait for it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from app.adapters.exports.annotator import draw
from app.adapters.media.frame_seek import DecodeBudgetExceeded, read_frame
from app.adapters.media.mp4_probe import keyframe_at_or_before, probe_mp4_cached
from app.api.deps import JobsDep, SettingsDep, StorageDep
from app.api.frame_pool import FramePool, PoolBusy
from app.api.schemas import ErrorResponse
from app.domain.detections import Detection
from app.domain.errors import InvalidUpload
from app.domain.model import Job, JobStatus, input_key
from app.domain.ports import JobRepository, StorageService
from app.domain.results import find_frame, stored_head
from app.domain.services import completed_job, get_job
from app.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["jobs"])

MAX_FRAME_INDEX = 10_000_000
JPEG_QUALITY = 85
RETRY_AFTER_S = 1
_pool_lock = threading.Lock()


def frame_pool(request: Request) -> FramePool:
    """The app's frame pool, made on first use (sized from settings)."""
    state = request.app.state
    with _pool_lock:
        if getattr(state, "frame_pool", None) is None:
            settings: Settings = state.settings
            state.frame_pool = FramePool(settings.frame_workers, settings.frame_queue)
        return state.frame_pool


@router.get(
    "/video/jobs/{job_id}/frames/{n}.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the frame as a JPEG"},
        401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
        404: {
            "model": ErrorResponse,
            "description": "unknown job, not completed, frame out of range, or the video is gone",
        },
        410: {"model": ErrorResponse, "description": "the job's files were deleted"},
        422: {
            "model": ErrorResponse,
            "description": "over the pixel budget (VIDEO_JOBS_MAX_PIXELS) or the decode "
            "budget (VIDEO_JOBS_FRAME_DECODE_BUDGET, VIDEO_JOBS_FRAME_DECODE_TIMEOUT_S)",
        },
        503: {"model": ErrorResponse, "description": "busy: retry after `Retry-After` s"},
    },
)
async def job_frame(
    request: Request,
    job_id: uuid.UUID,
    n: Annotated[int, Path(ge=0, le=MAX_FRAME_INDEX, description="frame index, from 0")],
    jobs: JobsDep,
    storage: StorageDep,
    settings: SettingsDep,
    width: Annotated[int, Query(ge=16, le=4096, description="downscale to this width")] = 480,
) -> Response:
    """Frame `n` of a completed job as a JPEG, its detections drawn on it."""
    try:
        encoded = await frame_pool(request).run(
            render_frame, jobs, storage, settings, job_id, n, width
        )
    except PoolBusy as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"frame images are busy ({exc}); try again in {RETRY_AFTER_S} s",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from exc
    # A completed job's frame never changes.
    headers = {"Cache-Control": "private, max-age=3600"}
    return Response(encoded, media_type="image/jpeg", headers=headers)


def render_frame(
    jobs: JobRepository,
    storage: StorageService,
    settings: Settings,
    job_id: uuid.UUID,
    n: int,
    width: int,
) -> bytes:
    """Runs on the frame pool: every check, then one bounded decode, draw and encode."""
    job = get_job(jobs, job_id)
    if job.status is not JobStatus.COMPLETED:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"job {job_id} is {job.status.value}; frame images exist once it is completed",
        )
    job = completed_job(jobs, job_id)  # 410 when its files were deleted
    key = input_key(job_id)
    if not storage.exists(key):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the input video of job {job_id} is gone")
    video = stored_head(storage, job).get("video") or {}
    _check_pixels(video, job, settings.max_pixels)
    result = _frame_result(storage, job, video, n)
    path = storage.local_path(key)
    _check_decode_budget(path, n, settings.frame_decode_budget)
    frame = _decode(path, n, settings)
    if frame is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"frame {n} is out of range for job {job_id}"
        )
    image, scale = downscale(frame, width)
    del frame
    draw_detections(image, result.get("detections"), scale)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "JPEG encoding failed")
    return encoded.tobytes()


def _check_pixels(video: dict[str, Any], job: Job, max_pixels: int) -> None:
    """Refuse before decoding when a frame is larger than VIDEO_JOBS_MAX_PIXELS."""
    pixels = int(video.get("width") or 0) * int(video.get("height") or 0)
    if pixels > max_pixels:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"frames of job {job.job_id} are {video.get('width')}x{video.get('height')} "
            f"({pixels} pixels), over the frame-image budget VIDEO_JOBS_MAX_PIXELS={max_pixels}",
        )


def _check_decode_budget(path: str, n: int, budget: int) -> None:
    """Reaching frame n decodes from the keyframe before it: refuse when that is over
    VIDEO_JOBS_FRAME_DECODE_BUDGET frames (the keyframe table comes from the header)."""
    try:
        track = probe_mp4_cached(path).video
    except (InvalidUpload, OSError) as exc:
        log.warning("frame %d: header unreadable (%s); counting from frame 0", n, exc)
        track = None
    keyframe = keyframe_at_or_before(track, n) if track is not None else 0
    if n - keyframe > budget:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"frame {n} lies {n - keyframe} frames past its keyframe (frame {keyframe}); "
            f"frame images decode at most VIDEO_JOBS_FRAME_DECODE_BUDGET={budget} frames",
        )


def _frame_result(storage: StorageService, job: Job, video: dict[str, Any], n: int) -> dict:
    """Video frame n's result ({} for a frame the job did not analyse: sampling, a time
    range); 404 when n is past the frames the worker decoded."""
    item = find_frame(storage, job, n)
    if item is not None:
        return item.get("result") or {}
    if n >= int(video.get("frame_count") or 0):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"frame {n} is out of range for job {job.job_id}"
        )
    return {}


def _decode(path: str, n: int, settings: Settings) -> np.ndarray | None:
    """Frame n, decoding at most the budget's frames for at most its time (422 beyond)."""
    budget, timeout = settings.frame_decode_budget, settings.frame_decode_timeout_s
    try:
        return read_frame(path, n, max_decoded=budget, timeout_s=timeout)
    except DecodeBudgetExceeded as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"frame {n} was not reached within {exc.reason} (the video's keyframes are "
            f"further apart than its header says); frame images decode at most "
            f"VIDEO_JOBS_FRAME_DECODE_BUDGET={budget} frames in at most "
            f"VIDEO_JOBS_FRAME_DECODE_TIMEOUT_S={timeout:g} s",
        ) from exc


def downscale(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """Shrink to `width` (never enlarge); returns the image and the scale applied."""
    height, current = frame.shape[:2]
    if current <= width:
        return frame, 1.0
    scale = width / current
    size = (width, max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def draw_detections(image: np.ndarray, detections: Any, scale: float) -> int:
    """Draw the stored detections as the annotated video does; returns how many. The
    stored results are the worker's, but a malformed item is skipped, never a 500."""
    if not isinstance(detections, list):
        return 0
    readable = []
    for item in detections:
        try:
            readable.append(Detection.from_dict(item))
        except (AttributeError, TypeError, ValueError):
            continue
    return len(draw(image, readable, scale))
