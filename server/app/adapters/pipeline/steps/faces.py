"""Frontal faces with a Haar cascade shipped inside opencv-python-headless.

Confidence: detectMultiScale3(..., outputRejectLevels=True) reports, for each face, the
sum the cascade's last stage gave its best window (`levelWeights`). A window is a face
when that sum reaches the stage threshold; the largest sum the stage can ever give is
the total of its weak classifiers' best leaf values. We map the margin linearly:

    confidence = 0.5 + 0.5 * (weight - threshold) / (largest_sum - threshold)

so a window that only just passes reads 0.5 (the decision boundary, as with a
classifier's probability) and one every weak classifier votes for as strongly as it can
reads 1.0. Both numbers are read from the cascade file itself, so the mapping holds
for any stump- or tree-based cascade in OpenCV's current XML format; for a cascade
whose last stage cannot be read, confidence is 1.0 (a detector without a score).
"""

from __future__ import annotations

import functools
import os
from typing import Any
from xml.etree import ElementTree

import cv2
import numpy as np

from app.adapters.pipeline.steps.base import FrameStep, add_detection, downscale, scale_box, to_gray


@functools.lru_cache(maxsize=16)
def last_stage_range(path: str) -> tuple[float, float] | None:
    """(threshold, largest reachable sum) of a cascade's last stage, or None."""
    try:
        stages = ElementTree.parse(path).getroot().findall("./cascade/stages/_")
        last = stages[-1]
        threshold = float(last.findtext("stageThreshold", ""))
        leaves = [
            max(float(v) for v in (node.findtext("leafValues") or "").split())
            for node in last.findall("./weakClassifiers/_")
        ]
    except (ElementTree.ParseError, IndexError, ValueError, OSError):
        return None
    largest = sum(leaves)
    return (threshold, largest) if leaves and largest > threshold else None


def resolve_cascade(cascade: str) -> str:
    """A bare file name is looked up among the cascades OpenCV ships."""
    path = cascade if os.path.dirname(cascade) else os.path.join(cv2.data.haarcascades, cascade)
    if not os.path.isfile(path):
        raise ValueError(f"cascade file {cascade!r} not found")
    return path


class FacesStep(FrameStep):
    """Options: `max_width` working width (0 = full size; 640 keeps 720p ~4x cheaper);
    `min_size` smallest face side in working pixels; `scale_factor` and `min_neighbors`
    as in detectMultiScale; `cascade` a file in cv2.data.haarcascades or a path;
    `equalize` spreads the grey levels first, which helps in dim or flat lighting."""

    name = "faces"
    label = "face"

    def __init__(
        self,
        max_width: int = 640,
        min_size: int = 24,
        scale_factor: float = 1.1,
        min_neighbors: int = 4,
        cascade: str = "haarcascade_frontalface_alt2.xml",
        equalize: bool = True,
    ) -> None:
        if float(scale_factor) <= 1.0:
            raise ValueError("scale_factor must be above 1")
        self.max_width = int(max_width)
        self.min_size = max(1, int(min_size))
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.equalize = bool(equalize)
        path = resolve_cascade(str(cascade))
        self._classifier = cv2.CascadeClassifier(path)
        if self._classifier.empty():
            raise ValueError(f"cascade file {cascade!r} could not be loaded")
        self._range = last_stage_range(path)

    def confidence(self, weight: float) -> float:
        if self._range is None:
            return 1.0
        threshold, largest = self._range
        margin = (float(weight) - threshold) / (largest - threshold)
        return 0.5 + 0.5 * min(max(margin, 0.0), 1.0)

    def process(self, frame: np.ndarray, index: int, result: dict[str, Any]) -> None:
        result.setdefault("detections", [])
        height, width = frame.shape[:2]
        small, scale = downscale(to_gray(frame), self.max_width)
        if self.equalize:
            small = cv2.equalizeHist(small)
        found = self._classifier.detectMultiScale3(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        boxes, _levels, weights = found if len(found) == 3 else ((), (), ())
        for box, weight in zip(boxes, np.ravel(weights), strict=False):
            bbox = scale_box(box, scale, width, height)
            add_detection(result, self.label, bbox, self.confidence(weight))
