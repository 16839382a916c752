"""Moving regions by background subtraction (MOG2) on a small grey copy of the frame."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from app.adapters.pipeline.steps.base import FrameStep, add_detection, downscale, scale_box, to_gray


class MotionStep(FrameStep):
    name = "motion"

    def __init__(
        self,
        max_width: int = 320,
        history: int = 120,
        var_threshold: float = 32.0,
        min_area_ratio: float = 0.0005,
        blur: int = 5,
    ) -> None:
        self.max_width = int(max_width)
        self.min_area_ratio = float(min_area_ratio)
        self.blur = int(blur) | 1
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=int(history), varThreshold=float(var_threshold), detectShadows=False
        )
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def process(self, frame: np.ndarray, index: int, result: dict[str, Any]) -> None:
        height, width = frame.shape[:2]
        small, scale = downscale(to_gray(frame), self.max_width)
        if self.blur > 1:
            small = cv2.GaussianBlur(small, (self.blur, self.blur), 0)
        mask = self._subtractor.apply(small)
        result.setdefault("detections", [])
        if index == 0:  # the model has only just seen its first frame: no background yet
            result["motion_ratio"] = 0.0
            return
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        result["motion_ratio"] = round(float(cv2.countNonZero(mask)) / mask.size, 6)
        min_area = self.min_area_ratio * mask.size
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            if cv2.contourArea(contour) < min_area:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            density = cv2.countNonZero(mask[y : y + h, x : x + w]) / float(w * h)
            add_detection(result, "motion", scale_box((x, y, w, h), scale, width, height), density)
