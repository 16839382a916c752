"""Decode a video on a background thread so decoding overlaps the analysis.

OpenCV releases the GIL while it decodes, so a reader thread a few frames ahead keeps
one core decoding while the steps run on the other.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from app.domain.errors import VideoDecodeError

_END = object()


@dataclass(frozen=True)
class VideoProperties:
    fps: float
    width: int
    height: int
    frame_count_estimate: int


def open_video(path: str) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise VideoDecodeError(
            "the video could not be opened: the file is corrupt, truncated, "
            "or has no video track OpenCV can decode"
        )
    return capture


def read_properties(capture: cv2.VideoCapture) -> VideoProperties:
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 0.0
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    count = int(count) if count and math.isfinite(count) and count > 0 else 0
    return VideoProperties(
        fps=fps,
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        frame_count_estimate=count,
    )


class FrameReader:
    """Iterate decoded frames in order while a thread decodes ahead (bounded buffer)."""

    def __init__(self, capture: cv2.VideoCapture, prefetch: int = 4) -> None:
        self._capture = capture
        self._frames: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._decode, name="frame-reader", daemon=True)

    def _decode(self) -> None:
        try:
            while not self._stop.is_set():
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    break
                self._offer(frame)
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._error = exc
        finally:
            self._offer(_END)

    def _offer(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[np.ndarray]:
        self._thread.start()
        try:
            while (item := self._frames.get()) is not _END:
                yield item
            if self._error is not None:
                raise VideoDecodeError(f"decoding failed: {self._error}") from self._error
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._capture.release()
