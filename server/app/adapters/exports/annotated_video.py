"""`<job_id>_annotated.mp4` (annotate=true): the analysed frames with boxes, labels and
track ids drawn, encoded as it goes.

H.264 (yuv420p) in MP4 with the index at the front (`faststart`), which Chromium's
<video> plays and seeks; OpenCV's wheels only write MPEG-4 Part 2 (`mp4v`, refused by
Chromium) or VP9 at ~6 fps for 720p, so encoding goes through PyAV's bundled FFmpeg
and libx264 (~130 fps at 720p, `veryfast`). Each frame keeps its own presentation time
(ms since the first analysed frame), so a sampled or variable-frame-rate job plays at
the right pace. Frames wider than `max_width` are shrunk first: the video is for
looking at, and the encoder's cost grows with the pixels.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import uuid
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np

from app.adapters.exports.files import PartFile
from app.domain.errors import InsufficientStorage
from app.domain.frames import Frame, FrameSink
from app.domain.model import annotated_key
from app.domain.ports import StorageService

log = logging.getLogger(__name__)
MS = Fraction(1, 1000)
# BGR colours; a track keeps its colour, untracked detections use their label's.
PALETTE = (
    (0, 200, 255),
    (80, 220, 60),
    (255, 120, 40),
    (200, 60, 255),
    (60, 60, 255),
    (255, 220, 0),
    (0, 140, 255),
    (180, 255, 180),
)


@contextlib.contextmanager
def _disk_full_is_insufficient_storage() -> Iterator[None]:
    """FFmpeg's write errors (PyAV raises them as OSError) with the project's meaning."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the server's disk is full; try again later") from exc
        raise


def colour(detection: dict[str, Any]) -> tuple[int, int, int]:
    key = detection.get("track_id")
    if key is None:
        key = sum(detection["label"].encode())
    return PALETTE[int(key) % len(PALETTE)]


def caption(detection: dict[str, Any]) -> str:
    text = detection["label"]
    if detection.get("track_id") is not None:
        text += f" #{detection['track_id']}"
    return f"{text} {float(detection.get('confidence', 1.0)):.2f}"


def draw(image: np.ndarray, detections: list[dict[str, Any]], scale: float) -> None:
    """Boxes and captions, in place; `scale` maps frame pixels to `image` pixels."""
    thickness = max(1, round(image.shape[1] / 480))
    font = 0.4 * thickness
    for detection in detections:
        x, y, w, h = (round(v * scale) for v in detection["bbox"])
        bgr = colour(detection)
        cv2.rectangle(image, (x, y), (x + w, y + h), bgr, thickness)
        text = caption(detection)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, thickness)
        top = y - th - base - 2 if y - th - base - 2 >= 0 else y + h
        cv2.rectangle(image, (x, top), (x + tw + 4, top + th + base + 2), bgr, cv2.FILLED)
        cv2.putText(
            image,
            text,
            (x + 2, top + th + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            font,
            (0, 0, 0),
            thickness,
            cv2.LINE_AA,
        )


class AnnotatedVideoSink(FrameSink):
    def __init__(
        self, storage: StorageService, job_id: uuid.UUID, max_width: int = 1280, crf: int = 23
    ) -> None:
        self.job_id = job_id
        self.max_width = max_width
        self.crf = crf
        self._file = PartFile(storage, annotated_key(job_id))
        self._container: Any = None
        self._stream: Any = None
        self._size = (0, 0)
        self._scale = 1.0
        self._first_ms: int | None = None
        self._last_pts = -1

    def _open(self, width: int, height: int) -> None:
        self._scale = min(1.0, self.max_width / width)
        # yuv420p needs even sides.
        out_w = max(2, int(width * self._scale) // 2 * 2)
        out_h = max(2, int(height * self._scale) // 2 * 2)
        self._size = (out_w, out_h)
        self._container = av.open(
            str(self._file.path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        stream = self._container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
        stream.time_base = MS
        stream.codec_context.time_base = MS
        stream.options = {"preset": "veryfast", "crf": str(self.crf)}
        self._stream = stream

    def add(self, frame: Frame) -> None:
        image = frame.image
        if image is None:
            return
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self._container is None:
            self._open(image.shape[1], image.shape[0])
        out_w, out_h = self._size
        if (image.shape[1], image.shape[0]) != (out_w, out_h):
            image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
        else:
            image = image.copy()  # never draw on the frame other sinks may still read
        draw(image, frame.result.get("detections") or [], out_w / frame.image.shape[1])
        if self._first_ms is None:
            self._first_ms = frame.timestamp_ms
        pts = max(frame.timestamp_ms - self._first_ms, self._last_pts + 1)
        self._last_pts = pts
        video_frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        video_frame.pts, video_frame.time_base = pts, MS
        with _disk_full_is_insufficient_storage():
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        self._file.grew()

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        if self._container is None:
            self._file.discard()
            return
        with _disk_full_is_insufficient_storage():
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
            self._file.commit()
        log.info("job %s: annotated video written (%dx%d)", self.job_id, *self._size)

    def abort(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is removed either way
                log.debug("job %s: closing the annotated video failed", self.job_id)
            self._container = None
        self._file.discard()
