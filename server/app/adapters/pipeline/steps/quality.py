"""Image quality: brightness, contrast (grey mean and spread) and sharpness."""

from __future__ import annotations

import cv2

from app.adapters.pipeline.steps.base import FrameStep, downscale, to_gray
from app.domain.frames import Frame


class QualityStep(FrameStep):
    """Brightness and contrast are the mean and standard deviation of the grey image
    (0..255); sharpness is the variance of its Laplacian, measured at a fixed width so
    that clips of different resolutions are comparable."""

    name = "quality"

    def __init__(self, max_width: int = 640) -> None:
        self.max_width = int(max_width)

    def process(self, frame: Frame) -> None:
        image, result = frame.image, frame.result
        gray, _ = downscale(to_gray(image), self.max_width)
        mean, std = cv2.meanStdDev(gray)
        laplacian = cv2.Laplacian(gray, cv2.CV_32F)
        _, lap_std = cv2.meanStdDev(laplacian)
        result["brightness"] = round(float(mean[0, 0]), 4)
        result["contrast"] = round(float(std[0, 0]), 4)
        result["sharpness"] = round(float(lap_std[0, 0]) ** 2, 4)
