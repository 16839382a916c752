"""The part of a video a job will analyse: its time range against the video's length,
and how many frames that range and the sampling rate come to.

The same arithmetic runs at submit (from the container's header) and in the worker (from
the decoder's properties), so progress and its ETA are over the work the job will do,
not over the whole video.
"""

from __future__ import annotations

import math

from app.domain.errors import InvalidOptions
from app.domain.options import AnalysisOptions


def checked_range(options: AnalysisOptions, duration_s: float | None) -> list[str]:
    """InvalidOptions when the range starts at or past the end of the video; a warning
    sentence when it ends past the end (the job analyses up to the end)."""
    if duration_s is None or duration_s <= 0:
        return []
    if options.start_s is not None and options.start_s >= duration_s:
        raise InvalidOptions(
            f"start_s={options.start_s:g} is at or past the end of the video, which is "
            f"{duration_s:.3f} s long: nothing would be analysed"
        )
    if options.end_s is not None and options.end_s > duration_s:
        return [
            f"end_s={options.end_s:g} is past the end of the video ({duration_s:.3f} s); "
            f"the range was clipped to end at {duration_s:.3f} s"
        ]
    return []


def planned_frames(
    options: AnalysisOptions, frame_count: int | None, duration_s: float | None
) -> int | None:
    """An estimate of the frames the job will analyse (None when the video declares no
    frame count): the frames inside [start_s, end_s), at most `sample_fps` of them per
    second. Without a range or sampling it is the declared count itself."""
    if frame_count is None:
        return None
    whole = options.start_s is None and options.end_s is None and options.sample_fps is None
    if whole or not duration_s or duration_s <= 0:
        return frame_count
    start = options.start_s or 0.0
    end = duration_s if options.end_s is None else min(options.end_s, duration_s)
    span = max(end - start, 0.0)
    frames = min(frame_count, math.ceil(span * frame_count / duration_s - 1e-9))
    if options.sample_fps is not None:
        frames = min(frames, math.ceil(span * options.sample_fps - 1e-9))
    return max(frames, 0)
