"""The contract's limits as checked at submit, from the container's header alone.

A header can lie (the worker checks the same limits again while it decodes); this check
is what keeps an honest bomb (a 16000x16000 still, a million 16x16 frames) from ever
becoming a job.
"""

from __future__ import annotations

from app.domain.errors import InvalidUpload
from app.domain.frames import FrameLimits
from app.domain.ports import VideoHeader

NO_VIDEO_TRACK = "the MP4 has no video track"


def check_header(header: VideoHeader, limits: FrameLimits) -> None:
    """InvalidUpload (400) naming the limit and its setting; no video track is its own.
    The limits are the worker's (bootstrap.build_limits): one set, checked twice."""
    if not header.has_video:
        raise InvalidUpload(NO_VIDEO_TRACK)
    pixels = header.width * header.height
    if pixels > limits.max_pixels:
        raise InvalidUpload(
            f"the video's frames are {header.width}x{header.height} ({pixels} pixels), over "
            f"the limit of {limits.max_pixels} pixels (VIDEO_JOBS_MAX_PIXELS)"
        )
    if header.duration_s is not None and header.duration_s > limits.max_duration_s:
        raise InvalidUpload(
            f"the video is {header.duration_s:.1f} s long, over the limit of "
            f"{limits.max_duration_s:g} s (VIDEO_JOBS_MAX_DURATION_S)"
        )
    if header.frame_count is not None and header.frame_count > limits.max_frames:
        raise InvalidUpload(
            f"the video has {header.frame_count} frames, over the limit of "
            f"{limits.max_frames} frames (VIDEO_JOBS_MAX_FRAMES)"
        )
