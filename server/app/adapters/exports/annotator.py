"""How a detection is drawn, the same on the annotated video and on frame images.

A tracked object keeps one colour (by its track id) everywhere it is drawn; a detection
without a track takes its label's colour. Line width and caption size follow the image
width, so captions are legible on a thumbnail and do not swamp a 1080p frame.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import cv2
import numpy as np

from app.domain.detections import Detection

# BGR colours, chosen to stand out on most footage and from each other.
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


def colour(detection: Detection) -> tuple[int, int, int]:
    """By track id, else by label (a stable hash, the same in every process)."""
    if detection.track_id is not None:
        return PALETTE[detection.track_id % len(PALETTE)]
    return PALETTE[zlib.crc32(detection.label.encode()) % len(PALETTE)]


def caption(detection: Detection) -> str:
    text = detection.label
    if detection.track_id is not None:
        text += f" #{detection.track_id}"
    return f"{text} {detection.confidence:.2f}"


def draw(image: np.ndarray, detections: Iterable[Detection], scale: float = 1.0) -> int:
    """Boxes and captions, in place; `scale` maps frame pixels to `image` pixels.
    Returns how many were drawn."""
    thickness = max(1, round(image.shape[1] / 480))
    font = 0.4 * thickness
    drawn = 0
    for detection in detections:
        x, y, w, h = (round(v * scale) for v in detection.bbox)
        bgr = colour(detection)
        # A box covers pixels x .. x + w - 1: its outline stays on them.
        cv2.rectangle(image, (x, y), (x + max(w, 1) - 1, y + max(h, 1) - 1), bgr, thickness)
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
        drawn += 1
    return drawn
