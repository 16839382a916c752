"""Faces: CenterFace (a convolutional detector, app.adapters.pipeline.models.centerface)
by default, frontal and turned faces, small ones through the input size; BlazeFace
(models.blazeface, small faces through tiles) stays as {"detector": "blazeface"} and the
Haar cascade of 2001 shipped inside opencv-python-headless as {"detector": "haar"}.

BlazeFace confidence: the network's face probability (sigmoid of its logit), kept from
0.5. `every` runs it on one frame in `every` and repeats its boxes in between, marked
"carried" (steps/base.py EveryNthStep).

Haar confidence: detectMultiScale3(..., outputRejectLevels=True) reports, for each face, the
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
from typing import Any, ClassVar
from xml.etree import ElementTree

import cv2
import cv2.data  # the stubs do not import the submodule (cv2.data.haarcascades)
import numpy as np

from app.adapters.pipeline.models.blazeface import BlazeFaceDetector
from app.adapters.pipeline.models.centerface import CenterFaceDetector
from app.adapters.pipeline.steps.base import (
    DetectorChoiceStep,
    EveryNthStep,
    FrameStep,
    add_detection,
    downscale,
    scale_box,
    to_gray,
)
from app.domain.frames import Frame


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


class HaarFacesStep(FrameStep):
    """Options: `max_width` working width (0 = full size; 640 keeps 720p ~4x cheaper);
    `min_size` smallest face side in working pixels; `scale_factor` and `min_neighbors`
    as in detectMultiScale; `cascade` a file in cv2.data.haarcascades or a path;
    `equalize` spreads the grey levels first, which helps in dim or flat lighting."""

    name = "faces"
    label = "face"
    labels = ("face",)

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

    def process(self, frame: Frame) -> None:
        image = frame.image
        frame.detected()
        height, width = image.shape[:2]
        small, scale = downscale(to_gray(image), self.max_width)
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
            add_detection(frame, self.label, bbox, self.confidence(weight))


class _EveryNthFacesStep(EveryNthStep):
    """A face detector on one frame in `every`, its boxes carried in between."""

    name = "faces"
    labels = ("face",)

    def label_of(self, found: Any) -> str:
        return "face"


class BlazeFacesStep(_EveryNthFacesStep):
    """Options: `variant` "full" (faces up to ~5 m; default) or "short" (close faces,
    cheaper); `score` least face probability; `nms` IoU at which boxes merge; `tiles`
    overlapping squares across the frame seen at larger scale, for small faces (0 = the
    whole frame only); `every` frame stride."""

    def __init__(
        self,
        variant: str = "full",
        score: float = 0.5,
        nms: float = 0.3,
        tiles: int = 2,
        every: int = 1,
    ) -> None:
        detector = BlazeFaceDetector(str(variant), float(score), float(nms), int(tiles))
        super().__init__(detector, every)


class CenterFacesStep(_EveryNthFacesStep):
    """Options: `min_face` smallest face side wanted in frame pixels (the frame is shrunk
    until such a face is the smallest the network finds; 0 = full size); `max_side` cap
    on the network input's long side (0 = none); `score` least heatmap value (0.5);
    `nms` IoU above which the weaker box goes (0.3); `every` frame stride."""

    def __init__(
        self,
        min_face: int = 40,
        max_side: int = 0,
        score: float = 0.5,
        nms: float = 0.3,
        every: int = 1,
    ) -> None:
        detector = CenterFaceDetector(int(min_face), int(max_side), float(score), float(nms))
        super().__init__(detector, every)


class FacesStep(DetectorChoiceStep):
    """Options: `detector` "centerface" (default; options min_face, max_side, score, nms,
    every), "blazeface" (options variant, score, nms, tiles, every) or "haar"
    (options max_width, min_size, scale_factor, min_neighbors, cascade, equalize)."""

    name = "faces"
    labels = ("face",)
    detectors: ClassVar[dict[str, type[FrameStep]]] = {
        "blazeface": BlazeFacesStep,
        "centerface": CenterFacesStep,
        "haar": HaarFacesStep,
    }

    default_detector = "centerface"
