"""What every analysis step shares: the step interface and small image helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import cv2
import numpy as np


class FrameStep(ABC):
    """One analysis step; a fresh instance per job, so state never leaks between jobs.

    Options come from the pipeline JSON file as keyword arguments; a step rejects
    unknown options by raising TypeError from its constructor.
    """

    name: ClassVar[str]

    @abstractmethod
    def process(self, frame: np.ndarray, index: int, result: dict[str, Any]) -> None:
        """Add this step's keys to `result` for the BGR `frame` number `index`."""


def add_detection(
    result: dict[str, Any],
    label: str,
    bbox: tuple[int, int, int, int] | list[int],
    confidence: float,
    **extra: Any,
) -> None:
    """Append a detection in the contract's shape, with plain-Python values only."""
    x, y, w, h = (int(v) for v in bbox)
    detection = {
        "label": label,
        "bbox": [x, y, w, h],
        "confidence": round(min(max(float(confidence), 0.0), 1.0), 4),
    }
    detection.update(extra)
    result.setdefault("detections", []).append(detection)


def downscale(image: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    """Shrink to at most `max_width` pixels wide; returns the image and the scale factor
    that maps its coordinates back to the original (1.0 when nothing was done)."""
    height, width = image.shape[:2]
    if max_width <= 0 or width <= max_width:
        return image, 1.0
    scale = width / max_width
    size = (max_width, max(1, round(height / scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def scale_box(
    box: tuple[int, int, int, int] | np.ndarray, scale: float, width: int, height: int
) -> list[int]:
    """Map a box from a downscaled image back to full-frame pixels, clipped to the frame."""
    x, y, w, h = (float(v) for v in box)
    x0 = max(0, min(width, round(x * scale)))
    y0 = max(0, min(height, round(y * scale)))
    x1 = max(0, min(width, round((x + w) * scale)))
    y1 = max(0, min(height, round((y + h) * scale)))
    return [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]
