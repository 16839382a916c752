"""Moving regions: background subtraction (MOG2), with ghosts removed by frame differencing.

MOG2's model starts from frame 0, so whatever stood there is "background". When that
object moves off, the background it uncovers differs from the model and MOG2 reports a
ghost at the old place until the model learns it, which at the slow learning rate that
keeps real, slow objects from being absorbed takes many frames.

A ghost is static; a moving object changes pixels from one frame to the next (all over
if it is textured, at least along its leading edge if it is uniform). So each connected
foreground region is kept only if enough of it changed since the previous frame, and
its box is the box of the part that changed: that drops lone ghosts and also cuts off
a ghost still touching the object that left it. The box of a uniform object still
spans it whole, because its leading and trailing edges both change.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.adapters.pipeline.steps.base import FrameStep, add_detection, downscale, scale_box, to_gray
from app.domain.frames import Frame


class MotionStep(FrameStep):
    """Options: `max_width` working width (0 = full size); `history` frames of memory
    (learning rate 1/history); `var_threshold` MOG2's squared-distance threshold;
    `diff_threshold` grey levels a pixel must change between frames to count as moving;
    `min_moving_fraction` share of a region that must have changed for it to be kept;
    `min_area_ratio` smallest region, as a share of the frame; `blur` denoising kernel.

    A detection's confidence is the share of its box the moving region fills."""

    name = "motion"
    label = "motion"
    labels = ("motion",)

    def __init__(
        self,
        max_width: int = 320,
        history: int = 200,
        var_threshold: float = 32.0,
        diff_threshold: int = 12,
        min_moving_fraction: float = 0.02,
        min_area_ratio: float = 0.0005,
        blur: int = 5,
    ) -> None:
        if int(history) < 1:
            raise ValueError("history must be at least 1 frame")
        if not 0.0 <= float(min_moving_fraction) <= 1.0:
            raise ValueError("min_moving_fraction must be within 0..1")
        self.max_width = int(max_width)
        self.learning_rate = 1.0 / int(history)
        self.diff_threshold = int(diff_threshold)
        self.min_moving_fraction = float(min_moving_fraction)
        self.min_area_ratio = float(min_area_ratio)
        self.blur = int(blur) | 1
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=int(history), varThreshold=float(var_threshold), detectShadows=False
        )
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._previous: np.ndarray | None = None

    def process(self, frame: Frame) -> None:
        image, result = frame.image, frame.result
        frame.detected()
        height, width = image.shape[:2]
        small, scale = downscale(to_gray(image), self.max_width)
        if self.blur > 1:
            small = cv2.GaussianBlur(small, (self.blur, self.blur), 0)
        previous, self._previous = self._previous, small
        if previous is None or previous.shape != small.shape:
            # The first image becomes the whole background model: nothing can move yet.
            self._subtractor.apply(small, learningRate=1.0)
            result["motion_ratio"] = 0.0
            return
        mask = self._subtractor.apply(small, learningRate=self.learning_rate)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        changed = cv2.absdiff(small, previous)
        _, changed = cv2.threshold(changed, self.diff_threshold, 255, cv2.THRESH_BINARY)

        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = max(1.0, self.min_area_ratio * mask.size)
        moving_area = 0
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            if area < min_area:
                continue
            region = labels[y : y + h, x : x + w] == label
            moving = region & (changed[y : y + h, x : x + w] > 0)
            if np.count_nonzero(moving) < max(1.0, self.min_moving_fraction * area):
                continue  # static: a ghost of where something used to be
            mx, my, mw, mh = cv2.boundingRect(moving.view(np.uint8))
            inside = int(np.count_nonzero(region[my : my + mh, mx : mx + mw]))
            moving_area += inside
            box = scale_box((x + mx, y + my, mw, mh), scale, width, height)
            add_detection(frame, self.label, box, inside / float(mw * mh))
        result["motion_ratio"] = round(min(1.0, moving_area / float(mask.size)), 6)
