"""Hard cuts: how much of the colour distribution changes from one frame to the next.

Each frame gets a joint hue/saturation/value histogram of a small copy (hue is put in
one bin for nearly grey pixels, where it is only noise). `score` is the Bhattacharyya
distance between consecutive histograms: 0 for the same colours, 1 for no colour in
common. A frame starts a new shot when both hold:

- absolute: score >= `threshold` (default 0.5: at most about three quarters of the
  colour distribution carried over, since Bhattacharyya overlap = 1 - score**2);
- relative: the score is an outlier for the recent frames of the video: above their
  median by `sensitivity` robust standard deviations (1.4826 * MAD), so a shaky or busy
  shot whose frames always differ a lot does not cut on every frame.

No cut is reported within `min_shot_frames` of the previous one (a flash or a glitch
is not a shot). Both bounds come from what the numbers mean and from the video itself,
not from a particular clip.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import cv2
import numpy as np

from app.adapters.pipeline.steps.base import FrameStep, downscale

_MAD_TO_SIGMA = 1.4826


class SceneCutStep(FrameStep):
    """Options: `threshold`, `sensitivity`, `window` (recent scores kept for the relative
    test), `min_shot_frames`, `max_width` (working width), `bins` (hue, saturation,
    value bin counts)."""

    name = "scene_cuts"

    def __init__(
        self,
        threshold: float = 0.5,
        sensitivity: float = 5.0,
        window: int = 24,
        min_shot_frames: int = 3,
        max_width: int = 160,
        bins: list[int] | tuple[int, int, int] = (16, 4, 8),
    ) -> None:
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if len(bins) != 3 or min(int(b) for b in bins) < 1:
            raise ValueError("bins needs three positive counts: hue, saturation, value")
        if int(window) < 1 or int(min_shot_frames) < 1:
            raise ValueError("window and min_shot_frames must be at least 1")
        self.threshold = float(threshold)
        self.sensitivity = float(sensitivity)
        self.max_width = int(max_width)
        self.min_shot_frames = int(min_shot_frames)
        self.bins = [int(b) for b in bins]
        self._grey_saturation = 256 // self.bins[1]
        self._recent: deque[float] = deque(maxlen=int(window))
        self._previous: np.ndarray | None = None
        self._since_cut = -1  # frame 0 starts the first shot

    def histogram(self, frame: np.ndarray) -> np.ndarray:
        small, _ = downscale(frame, self.max_width, cv2.INTER_LINEAR)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hue = hsv[..., 0]
        hue[hsv[..., 1] < self._grey_saturation] = 0
        return cv2.calcHist([hsv], [0, 1, 2], None, self.bins, [0, 180, 0, 256, 0, 256])

    def is_outlier(self, score: float) -> bool:
        if not self._recent:
            return True
        recent = np.fromiter(self._recent, dtype=np.float64)
        median = float(np.median(recent))
        spread = _MAD_TO_SIGMA * float(np.median(np.abs(recent - median)))
        return score > median + self.sensitivity * spread

    def process(self, frame: np.ndarray, index: int, result: dict[str, Any]) -> None:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        histogram = self.histogram(frame)
        previous, self._previous = self._previous, histogram
        self._since_cut += 1
        if previous is None or previous.shape != histogram.shape:
            result["scene_cut"], result["score"] = False, 0.0
            return
        score = float(cv2.compareHist(previous, histogram, cv2.HISTCMP_BHATTACHARYYA))
        score = min(max(score, 0.0), 1.0) if np.isfinite(score) else 0.0
        cut = (
            score >= self.threshold
            and self._since_cut >= self.min_shot_frames
            and self.is_outlier(score)
        )
        if cut:
            self._since_cut = 0
        else:
            self._recent.append(score)
        result["scene_cut"] = bool(cut)
        result["score"] = round(score, 4)
