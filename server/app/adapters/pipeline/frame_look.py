"""One cheap look at each frame, shared by cuts, black segments and keyframes.

The shots stage already shrinks every frame to 160 px for its colour histogram; the
grey mean, spread and Laplacian variance of that copy cost little more, and they tell
three things apart: a black or uniform frame (no picture: a black segment, never a
keyframe), a fade (the picture dims or brightens but keeps its layout) and a cut (the
layout itself changes). ffmpeg's blackdetect asks the same question per pixel (98% of
pixels under 10% grey); the mean and spread of a small copy answer it at a fraction of
the cost, and a near-uniform frame of any colour (a white flash, a slate) counts too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.domain.frames import FrameLook

# The small grey copy whose layout a fade keeps and a cut changes.
THUMB_SIZE = (64, 36)


@dataclass(frozen=True)
class BlankRule:
    """A frame is blank when its grey mean is at most `max_mean` (black) or the standard
    deviation of each colour channel at most `max_std` (nearly uniform, any colour: a
    flat field whose colours differ but whose grey levels agree is a picture); 0..255,
    measured on the 160 px copy (VIDEO_JOBS_BLACK_MAX_MEAN, VIDEO_JOBS_UNIFORM_MAX_STD)."""

    max_mean: float = 16.0
    max_std: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_mean < 255.0 or not 0.0 <= self.max_std < 128.0:
            raise ValueError("black max mean must be in [0, 255) and uniform max std in [0, 128)")

    def blank(self, mean: float, std: float) -> bool:
        return mean <= self.max_mean or std <= self.max_std


def look_at(small_bgr: np.ndarray, rule: BlankRule) -> tuple[FrameLook, np.ndarray]:
    """The frame's look and its layout thumbnail (64x36 grey, float32)."""
    grey = small_bgr if small_bgr.ndim == 2 else cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
    mean, std = cv2.meanStdDev(grey)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))
    m, s = float(mean[0, 0]), float(std[0, 0])
    spread = s if small_bgr.ndim == 2 else float(np.max(cv2.meanStdDev(small_bgr)[1]))
    sharpness = round(float(lap_std[0, 0]) ** 2, 3)
    look = FrameLook(round(m, 3), round(s, 3), sharpness, rule.blank(m, spread))
    thumb = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    return look, thumb


def layout_kept(previous: np.ndarray, current: np.ndarray, min_corr: float) -> bool:
    """Whether `current` keeps `previous`'s layout: their grey levels correlate at
    `min_corr` or more (a fade scales the levels, which leaves correlation at ~1)."""
    a = previous - previous.mean()
    b = current - current.mean()
    norm = float(np.sqrt(float((a * a).sum()) * float((b * b).sum())))
    return norm > 0.0 and float((a * b).sum()) / norm >= min_corr
