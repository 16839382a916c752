"""What every analysis step shares: the step interface and small image helpers."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import cv2
import numpy as np

from app.domain.detections import Detection
from app.domain.frames import Frame


class FrameStep(ABC):
    """One analysis step; a fresh instance per job, so state never leaks between jobs.

    Options come from the pipeline JSON file as keyword arguments; a step rejects
    unknown options by raising TypeError from its constructor (and bad values by
    raising ValueError), so a bad pipeline file fails at load time, not in a job.
    """

    name: ClassVar[str]
    # The detection labels this step can emit (empty for steps that add other keys);
    # an instance may narrow it (objects with a `classes` option).
    labels: tuple[str, ...] = ()

    @abstractmethod
    def process(self, frame: Frame) -> None:
        """Add this step's keys to `frame.result`, from its BGR `image` (the step also
        sees its `index` and `timestamp_ms`)."""


class DetectorChoiceStep(FrameStep):
    """A step whose `detector` option picks one of several implementations (a
    convolutional default and the older detectors kept for comparison); the other
    options go to the one picked."""

    detectors: ClassVar[dict[str, type[FrameStep]]]
    default_detector: ClassVar[str]

    def __init__(self, detector: str | None = None, **options: Any) -> None:
        detector = detector or self.default_detector
        if detector not in self.detectors:
            raise ValueError(f"detector must be one of {sorted(self.detectors)}")
        self.detector = detector
        self.impl = self.detectors[detector](**options)

    def process(self, frame: Frame) -> None:
        self.impl.process(frame)


class Detector(Protocol):
    """A convolutional detector: boxes with a `box` (x, y, w, h) and a `score`."""

    def detect(self, frame: np.ndarray) -> list[Any]: ...


def carry(detected_at: int | None, index: int, every: int) -> bool:
    """Repeat the last boxes on frame `index`? Counted in the video's frame numbers, not
    in calls: the video is cut into blocks of `every` frames from frame 0, and the first
    analysed frame of each block is detected (when sampling, sample_fps, already skips
    `every` frames or more, each analysed frame is). Blocks from frame 0 rather than
    from the job's first frame, so that a job starting mid-video (a segment of a split
    job) detects on the same frames as the whole video's run from its second frame on."""
    return (
        detected_at is not None and detected_at <= index and index // every == detected_at // every
    )


class EveryNthStep(FrameStep):
    """Runs `detector` on one frame in `every` and repeats its boxes on the frames in
    between, marked "carried": true (the tracker stage moves them along each track)."""

    def __init__(self, detector: Detector, every: int) -> None:
        if int(every) < 1:
            raise ValueError("every must be at least 1")
        self.every = int(every)
        self._detector = detector
        self._detected_at: int | None = None
        self._last: list[Any] = []

    def label_of(self, found: Any) -> str:
        """The label of one found box (a COCO detection names its own class)."""
        return found.label

    def process(self, frame: Frame) -> None:
        frame.detected()
        carried = carry(self._detected_at, frame.index, self.every)
        if not carried:
            self._last, self._detected_at = self._detector.detect(frame.image), frame.index
        for found in self._last:
            add_detection(frame, self.label_of(found), found.box, found.score, carried=carried)


def add_detection(
    frame: Frame,
    label: str,
    bbox: tuple[int, int, int, int] | list[int],
    confidence: float,
    **flags: Any,
) -> Detection:
    """Report a detection on `frame` (flags: `carried`, `text`)."""
    detection = Detection(label, [int(v) for v in bbox], confidence, **flags)
    frame.detected().append(detection)
    return detection


def downscale(
    image: np.ndarray, max_width: int, interpolation: int = cv2.INTER_AREA
) -> tuple[np.ndarray, float]:
    """Shrink to at most `max_width` pixels wide; returns the image and the scale factor
    that maps its coordinates back to the original (1.0 when nothing was done).

    INTER_AREA averages (least noise, for detectors); INTER_LINEAR is several times
    cheaper on a large colour frame and enough where only statistics are needed."""
    height, width = image.shape[:2]
    if max_width <= 0 or width <= max_width:
        return image, 1.0
    scale = width / max_width
    size = (max_width, max(1, round(height / scale)))
    return cv2.resize(image, size, interpolation=interpolation), scale


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def scale_box(
    box: Sequence[float] | np.ndarray, scale: float, width: int, height: int
) -> list[int]:
    """Map a box from a downscaled image back to full-frame pixels, clipped to the frame."""
    x, y, w, h = (float(v) for v in box)
    x0 = max(0, min(width, round(x * scale)))
    y0 = max(0, min(height, round(y * scale)))
    x1 = max(0, min(width, round((x + w) * scale)))
    y1 = max(0, min(height, round((y + h) * scale)))
    return [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]


def logistic(value: float) -> float:
    """Map a signed classifier margin to 0..1 (0 -> 0.5), overflow-safe."""
    value = float(value)
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    z = math.exp(value)
    return z / (1.0 + z)
