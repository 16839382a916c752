"""People: persons from a COCO detector (YOLOv4-tiny by default, YOLOv3-tiny as "yolo";
see steps/objects.py); OpenCV's HOG + linear SVM pedestrian detector of 2005 stays as
{"detector": "hog"}.

The convolutional detector finds people standing, walking, seated, partly hidden or seen
from the side; HOG only finds upright, whole, mostly frontal pedestrians.

HOG: the detector's window is 64x128 pixels, so at the default working width of 640 a person
must be about 100 working pixels tall (about 200 pixels in a 720p frame) to be found;
raise `max_width` for smaller people, at roughly quadratic cost.

Confidence: the SVM's signed margin w through the logistic 1 / (1 + e^-w): the decision
boundary (w = 0) reads 0.5, the SVM's unit margin 0.73, a margin of 3 about 0.95.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import cv2
import numpy as np

from app.adapters.pipeline.boxes import suppress
from app.adapters.pipeline.steps.base import (
    DetectorChoiceStep,
    FrameStep,
    add_detection,
    downscale,
    logistic,
    scale_box,
)
from app.adapters.pipeline.steps.objects import YoloStep
from app.domain.frames import Frame


def tighten(box: Sequence[float] | np.ndarray) -> tuple[float, float, float, float]:
    """The 64x128 window holds a margin around the body; keep its central part (the
    proportions OpenCV's peopledetect sample uses)."""
    x, y, w, h = (float(v) for v in box)
    return x + 0.1 * w, y + 0.07 * h, 0.8 * w, 0.8 * h


class HogPeopleStep(FrameStep):
    """Options: `max_width` working width (0 = full size); `win_stride` and `padding`
    in working pixels and `scale` (pyramid step) as in HOGDescriptor.detectMultiScale;
    `hit_threshold` SVM margin a window needs; `max_overlap` IoU above which the weaker
    of two boxes is suppressed."""

    name = "people"
    label = "person"
    labels = ("person",)

    def __init__(
        self,
        max_width: int = 640,
        win_stride: int = 8,
        padding: int = 8,
        scale: float = 1.05,
        hit_threshold: float = 0.0,
        max_overlap: float = 0.45,
    ) -> None:
        if float(scale) <= 1.0:
            raise ValueError("scale must be above 1")
        if int(win_stride) < 1 or int(padding) < 0:
            raise ValueError("win_stride must be positive and padding not negative")
        self.max_width = int(max_width)
        self.win_stride = (int(win_stride), int(win_stride))
        self.padding = (int(padding), int(padding))
        self.scale = float(scale)
        self.hit_threshold = float(hit_threshold)
        self.max_overlap = float(max_overlap)
        self._hog = cv2.HOGDescriptor()
        # cv2's stubs lack this function; their HOGDescriptor.getDefaultPeopleDetector is
        # typed Sequence[float], which setSVMDetector refuses (it returns an ndarray).
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]

    def process(self, frame: Frame) -> None:
        image = frame.image
        frame.detected()
        height, width = image.shape[:2]
        small, scale = downscale(image, self.max_width)
        if small.shape[0] < 128 or small.shape[1] < 64:
            return  # smaller than one detection window
        boxes, weights = self._hog.detectMultiScale(
            small,
            hitThreshold=self.hit_threshold,
            winStride=self.win_stride,
            padding=self.padding,
            scale=self.scale,
        )
        tightened = [tighten(box) for box in boxes]
        scores = [logistic(w) for w in np.ravel(weights)]
        for i in suppress(tightened, scores, self.max_overlap):
            bbox = scale_box(tightened[i], scale, width, height)
            add_detection(frame, self.label, bbox, scores[i])


class YoloPeopleStep(YoloStep):
    """The COCO detector restricted to its `person` class (options as ObjectsStep's)."""

    name = "people"

    def __init__(self, **options: Any) -> None:
        if "classes" in options:
            raise TypeError("people takes no 'classes' option")
        super().__init__(classes=["person"], **options)


class YoloV4PeopleStep(YoloPeopleStep):
    """YOLOv4-tiny's person class (options as ObjectsStep's)."""

    default_model = "yolov4-tiny"


class PeopleStep(DetectorChoiceStep):
    """Options: `detector` "yolov4-tiny" (default: on the eval, docs/accuracy.md, people
    precision 0.82 against 0.67 at the same recall, for ~5% more CPU), "yolo" (YOLOv3-tiny,
    also called "yolov3-tiny"; both with the objects step's options: size, coarse, score,
    nms, every) or "hog" (options max_width, win_stride, padding, scale, hit_threshold,
    max_overlap)."""

    name = "people"
    labels = ("person",)
    detectors: ClassVar[dict[str, type[FrameStep]]] = {
        "yolo": YoloPeopleStep,
        "yolov3-tiny": YoloPeopleStep,
        "yolov4-tiny": YoloV4PeopleStep,
        "hog": HogPeopleStep,
    }

    default_detector = "yolov4-tiny"
