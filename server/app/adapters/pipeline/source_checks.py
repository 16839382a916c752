"""What the frame source checks while it decodes: the contract's limits, and what the
container declares (its header is read without decoding, so a frame size over the
limit is refused before a decoder allocates a single frame of it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.adapters.media.mp4_probe import probe_mp4
from app.domain.errors import FrameLimitExceeded, VideoJobsError
from app.domain.frames import FrameLimits
from app.domain.video_limits import duration_over_limit, frames_over_limit, pixels_over_limit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeclaredVideo:
    width: int
    height: int
    frame_count: int | None


def declared_video(path: str) -> DeclaredVideo | None:
    """The MP4 header's video track (size, declared frames); None when it cannot tell
    (OpenCV's figures stand in)."""
    try:
        info = probe_mp4(path)
    except (VideoJobsError, OSError, ValueError) as exc:
        log.info("%s: header probe failed (%s); using the decoder's figures", path, exc)
        return None
    if info.video is None:
        return None
    return DeclaredVideo(info.video.width, info.video.height, info.video.frame_count)


class DecodeBounds:
    """Raise FrameLimitExceeded, naming the limit and its setting, once one is passed."""

    def __init__(self, limits: FrameLimits) -> None:
        self.limits = limits

    def check_size(self, width: int, height: int) -> None:
        if (message := pixels_over_limit(width, height, self.limits)) is not None:
            raise FrameLimitExceeded(message)

    def check_decoded(self, frames: int, timestamp_ms: float) -> None:
        if frames > self.limits.max_frames:
            raise FrameLimitExceeded(frames_over_limit(frames, self.limits, at_least=True))
        if timestamp_ms > self.limits.max_duration_s * 1000.0:
            seconds = timestamp_ms / 1000.0
            raise FrameLimitExceeded(duration_over_limit(seconds, self.limits, at_least=True))

    def check_job_time(self, elapsed_s: float) -> None:
        if elapsed_s > self.limits.max_job_s:
            raise FrameLimitExceeded(
                f"the job ran longer than {self.limits.max_job_s:g} s, over the limit "
                "(VIDEO_JOBS_MAX_JOB_S)"
            )
