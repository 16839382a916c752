"""Lines of text on screen (signs, captions, slides, plates): PP-OCR on a few frames.

OCR costs about 0.2 s to find the lines of a frame and 36 ms to read each one (2-core
machine, docs/models.md), several times a detector's cost, while on-screen text changes
far more slowly than objects move. So it reads a frame only when the rule in
`OcrSchedule` says the picture may hold new text: the first frame, a frame unlike the
last one read (a new shot), and otherwise at most once every `every_s` seconds and only
if the picture changed since the last reading (a caption appearing on a still shot
changes the picture; a static slide does not). Between readings the last lines are
repeated, marked "carried": true, as the detectors' `every` does. The change is judged
on a 64x36 grey copy of the frame (a mean absolute difference, under a millisecond).

Each line is one detection `{"label": "text", "text", "bbox", "confidence"}`: the
axis-aligned box around the line's rectangle in frame pixels, the recognition's mean
character probability as confidence. The text-track stage (text_tracks.py) numbers them.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.adapters.pipeline.models.ocr import TextLine, TextReader
from app.adapters.pipeline.steps.base import FrameStep, add_detection, to_gray
from app.domain.frames import Frame

THUMB_SIZE = (160, 90)
# A pixel of the small copy "changed" by more than this many grey levels: well above
# sensor noise and compression (averaged away at this size), what a letter appearing on
# its background does.
CHANGE_LEVEL = 24.0


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The small grey copy the change rule compares (float32, 0..255)."""
    return cv2.resize(to_gray(image), THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


class OcrSchedule:
    """Which frames are read: `due(timestamp_ms, thumb)` is True for the first frame, for
    a frame whose mean grey difference from the last frame read is `cut` or more (a new
    shot: read at once), and for a frame `every_ms` or more after the last reading where
    a share `change` or more of the small copy's pixels changed by over CHANGE_LEVEL (a
    mean would miss a small caption: a 60x15 logo appearing on a 548x342 picture moved
    the mean by under 1 level); `read(timestamp_ms, thumb)` records a reading."""

    def __init__(self, every_ms: int, change: float, cut: float) -> None:
        self.every_ms, self.change, self.cut = int(every_ms), float(change), float(cut)
        self._last_ms: int | None = None
        self._last_thumb: np.ndarray | None = None

    def due(self, timestamp_ms: int, thumb: np.ndarray) -> bool:
        if self._last_ms is None or self._last_thumb is None:
            return True
        difference = np.abs(thumb - self._last_thumb)
        if float(difference.mean()) >= self.cut:
            return True
        if timestamp_ms - self._last_ms < self.every_ms:
            return False
        return float(np.mean(difference > CHANGE_LEVEL)) >= self.change

    def read(self, timestamp_ms: int, thumb: np.ndarray) -> None:
        self._last_ms, self._last_thumb = timestamp_ms, thumb


class TextStep(FrameStep):
    """Options: `every_s` least time between two readings of a changing shot (0 = read
    every analysed frame), `change` least share of a 160x90 grey copy's pixels
    changed (by over CHANGE_LEVEL) since the last frame read for a new reading, `cut`
    mean grey difference that counts as a new shot (read at once), `det_side` long
    side of the detector's input, `min_score` least recognition confidence,
    `min_height` least line height in frame pixels (0 = all), `threads` onnxruntime
    threads (0 = the worker's inference thread count)."""

    name = "text"
    labels = ("text",)

    def __init__(
        self,
        every_s: float = 1.0,
        change: float = 0.002,
        cut: float = 20.0,
        det_side: int = 960,
        min_score: float = 0.8,
        min_height: int = 0,
        threads: int = 0,
    ) -> None:
        if float(every_s) < 0 or not 0 <= float(change) <= 1 or float(cut) <= 0:
            raise ValueError("every_s must not be negative, change within 0..1, cut positive")
        if int(min_height) < 0 or int(threads) < 0:
            raise ValueError("min_height and threads must not be negative")
        self.reader = TextReader(int(det_side), float(min_score), int(threads))
        self.schedule = OcrSchedule(round(float(every_s) * 1000), float(change), float(cut))
        self.every_frame = float(every_s) == 0
        self.min_height = int(min_height)
        self._last: list[TextLine] = []
        self.readings = 0  # frames read, for the eval's cost figure

    def process(self, frame: Frame) -> None:
        frame.detected()
        thumb = thumbnail(frame.image)
        fresh = self.every_frame or self.schedule.due(frame.timestamp_ms, thumb)
        if fresh:
            lines = self.reader.read(frame.image)
            self._last = [line for line in lines if line.box[3] >= self.min_height]
            self.schedule.read(frame.timestamp_ms, thumb)
            self.readings += 1
        for line in self._last:
            add_detection(frame, "text", line.box, line.score, text=line.text, carried=not fresh)
