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
    if (message := pixels_over_limit(header.width, header.height, limits)) is not None:
        raise InvalidUpload(message)
    if header.duration_s is not None and header.duration_s > limits.max_duration_s:
        raise InvalidUpload(duration_over_limit(header.duration_s, limits))
    if header.frame_count is not None and header.frame_count > limits.max_frames:
        raise InvalidUpload(frames_over_limit(header.frame_count, limits))


# One wording for each limit, at submit (from the header) and in the worker (while it
# decodes a video whose header lied), so a client sees the same sentence either way.
def pixels_over_limit(width: int, height: int, limits: FrameLimits) -> str | None:
    pixels = width * height
    if pixels <= limits.max_pixels:
        return None
    return (
        f"the video's frames are {width}x{height} ({pixels} pixels), over the limit of "
        f"{limits.max_pixels} pixels (VIDEO_JOBS_MAX_PIXELS)"
    )


def duration_over_limit(seconds: float, limits: FrameLimits, *, at_least: bool = False) -> str:
    length = f"at least {seconds:.1f}" if at_least else f"{seconds:.1f}"
    return (
        f"the video is {length} s long, over the limit of {limits.max_duration_s:g} s "
        "(VIDEO_JOBS_MAX_DURATION_S)"
    )


def frames_over_limit(count: int, limits: FrameLimits, *, at_least: bool = False) -> str:
    frames = f"at least {count}" if at_least else str(count)
    return (
        f"the video has {frames} frames, over the limit of {limits.max_frames} frames "
        "(VIDEO_JOBS_MAX_FRAMES)"
    )
