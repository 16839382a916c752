"""Image quality: brightness, contrast (grey mean and spread) and sharpness."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from app.adapters.pipeline.steps.base import FrameStep, downscale, to_gray


class QualityStep(FrameStep):
    """Brightness and contrast are the mean and standard deviation of the grey image
    (0..255); sharpness is the variance of its Laplacian, measured at a fixed width so
    that clips of different resolutions are comparable."""

    name = "quality"

    def __init__(self, max_width: int = 640) -> None:
        self.max_width = int(max_width)

    def process(self, frame: np.ndarray, index: int, result: dict[str, Any]) -> None:
        gray, _ = downscale(to_gray(frame), self.max_width)
        mean, std = cv2.meanStdDev(gray)
        laplacian = cv2.Laplacian(gray, cv2.CV_32F)
        _, lap_std = cv2.meanStdDev(laplacian)
        result["brightness"] = round(float(mean[0, 0]), 4)
        result["contrast"] = round(float(std[0, 0]), 4)
        result["sharpness"] = round(float(lap_std[0, 0]) ** 2, 4)
