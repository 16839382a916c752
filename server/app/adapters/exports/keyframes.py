"""One representative picture per shot: the sharpest frame near the shot's middle.

The shot's length is known only when it ends, so the choice is made as frames come,
holding at most two small candidates: the best so far (`first`) and the best after it
(`second`). A candidate counts as "near the middle" while it lies in the shot's last
three quarters so far (a frame of the first quarter falls out as the shot grows, and
the frames just after a cut, often blurred by the motion that carried it, never win
in a long shot). Ranking: a picture before a blank frame, then near the middle, then
sharper (variance of the Laplacian of the 160 px grey copy, `FrameLook.sharpness`).
So a shot with any picture never gets a black keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.adapters.pipeline.steps.base import downscale
from app.domain.frames import Frame

JPEG_QUALITY = 85


@dataclass
class _Candidate:
    position: int  # frames into the shot, from 0
    frame_index: int
    timestamp_ms: int
    blank: bool
    sharpness: float
    image: np.ndarray | None  # the small copy, keyframe width (None: no picture given)

    def rank(self, window_start: int) -> tuple[bool, bool, float]:
        return (not self.blank, self.position >= window_start, self.sharpness)


@dataclass(frozen=True)
class Keyframe:
    frame_index: int
    timestamp_ms: int
    jpeg: bytes

    def to_dict(self) -> dict[str, int]:
        return {"frame_index": self.frame_index, "timestamp_ms": self.timestamp_ms}


class KeyframePicker:
    """Fed every frame of a job in order; `take()` gives the open shot's keyframe."""

    def __init__(self, width: int = 320) -> None:
        if int(width) < 16:
            raise ValueError("keyframe width must be at least 16 pixels")
        self.width = int(width)
        self._shot: int | None = None
        self._seen = 0
        self._first: _Candidate | None = None
        self._second: _Candidate | None = None

    def add(self, frame: Frame) -> None:
        if frame.shot != self._shot:
            self._shot, self._seen, self._first, self._second = frame.shot, 0, None, None
        position, self._seen = self._seen, self._seen + 1
        window_start = self._seen // 4
        self._promote(window_start)
        look = frame.look
        blank = bool(look.blank) if look is not None else False
        sharpness = float(look.sharpness) if look is not None else 0.0
        rank = (not blank, True, sharpness)
        first, second = self._first, self._second
        if first is None or rank > first.rank(window_start):
            self._first, self._second = self._candidate(frame, position, blank, sharpness), None
        elif second is None or rank > second.rank(window_start):
            self._second = self._candidate(frame, position, blank, sharpness)

    def _promote(self, window_start: int) -> None:
        """The best frame after `first` replaces it once it ranks higher (`first` fell
        out of the middle)."""
        first, second = self._first, self._second
        if (
            first is not None
            and second is not None
            and second.rank(window_start) > first.rank(window_start)
        ):
            self._first, self._second = second, None

    def _candidate(self, frame: Frame, position: int, blank: bool, sharp: float) -> _Candidate:
        image: Any = frame.image
        if image is None:
            return _Candidate(position, frame.index, frame.timestamp_ms, blank, sharp, None)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        small, _ = downscale(image, self.width)
        return _Candidate(
            position, frame.index, frame.timestamp_ms, blank, sharp, np.ascontiguousarray(small)
        )

    def take(self) -> Keyframe | None:
        """The open shot's keyframe as a JPEG (None before any frame); the shot's
        candidates are let go."""
        self._promote(self._seen // 4)
        chosen, self._first, self._second = self._first, None, None
        if chosen is None or chosen.image is None:
            return None
        ok, data = cv2.imencode(".jpg", chosen.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            return None
        return Keyframe(chosen.frame_index, chosen.timestamp_ms, data.tobytes())
