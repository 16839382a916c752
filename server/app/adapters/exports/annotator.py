"""How a detection is drawn, the same on the annotated video and on frame images.

A tracked object keeps one colour (by its track id) everywhere it is drawn; a detection
without a track takes its label's. Sizes follow the image: a caption is about 2.5 % of
its height (18 px at 720p), a box line about 1/360 of its short side. Each caption sits
above its box, else inside its top edge, else under it, moved inside the image if it
would stick out and down past captions already placed, so two near boxes never get
overlapping captions and none is cut off at an edge.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import NamedTuple

import cv2
import numpy as np

from app.domain.detections import Detection

FONT = cv2.FONT_HERSHEY_SIMPLEX
CAPTION_HEIGHT_SHARE = 0.025
MIN_FONT_SCALE = 0.35
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


class Rect(NamedTuple):
    x: int
    y: int
    w: int
    h: int

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


class Style(NamedTuple):
    line: int  # box line width
    font_scale: float
    text_thickness: int


def style_for(width: int, height: int) -> Style:
    # A caption is ~32 px tall at font scale 1 (glyphs, baseline, margin).
    scale = max(MIN_FONT_SCALE, CAPTION_HEIGHT_SHARE * height / 32)
    return Style(max(1, round(min(width, height) / 360)), scale, 1 if scale < 0.9 else 2)


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


def place_caption(
    box: Rect, size: tuple[int, int], frame: tuple[int, int], taken: list[Rect]
) -> Rect:
    """Where a caption of `size` (w, h) goes for `box` in a frame of `frame` (w, h)."""
    (width, height), (frame_w, frame_h) = size, frame
    x = min(max(box.x, 0), max(frame_w - width, 0))
    for y in (box.y - height, box.y, box.y + box.h):
        y = min(max(y, 0), max(frame_h - height, 0))
        spot = Rect(x, y, width, height)
        while any(spot.overlaps(other) for other in taken) and spot.y + 2 * height <= frame_h:
            spot = spot._replace(y=spot.y + height)
        if not any(spot.overlaps(other) for other in taken):
            return spot
    return Rect(x, min(max(box.y - height, 0), max(frame_h - height, 0)), width, height)


def draw(image: np.ndarray, detections: Iterable[Detection], scale: float = 1.0) -> list[Rect]:
    """Boxes and captions, in place; `scale` maps frame pixels to `image` pixels.
    Returns where the captions went, one per detection drawn."""
    frame = (image.shape[1], image.shape[0])
    style = style_for(*frame)
    taken: list[Rect] = []
    for detection in detections:
        box = Rect(*(round(v * scale) for v in detection.bbox))
        bgr = colour(detection)
        # A box covers pixels x .. x + w - 1: its outline stays on them.
        corner = (box.x + max(box.w, 1) - 1, box.y + max(box.h, 1) - 1)
        cv2.rectangle(image, (box.x, box.y), corner, bgr, style.line)
        text = caption(detection)
        (tw, th), base = cv2.getTextSize(text, FONT, style.font_scale, style.text_thickness)
        spot = place_caption(box, (tw + 4, th + base + 2), frame, taken)
        taken.append(spot)
        cv2.rectangle(image, (spot.x, spot.y), (spot.x + spot.w - 1, spot.y + spot.h - 1), bgr, -1)
        cv2.putText(
            image,
            text,
            (spot.x + 2, spot.y + th + 1),
            FONT,
            style.font_scale,
            (0, 0, 0),
            style.text_thickness,
            cv2.LINE_AA,
        )
    return taken
