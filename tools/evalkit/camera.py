"""A virtual camera over a real photograph: pan, zoom and an occluder, with the
photograph's ground-truth boxes carried through the same transform to every frame.

Boxes less than half visible (cut by the frame edge or hidden by the occluder) become
'ignore' regions for that frame: a detector is neither rewarded nor blamed for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

Box = list[float]
Truth = dict[str, list[Box]]  # label -> boxes; the key "ignore" holds ignore regions
_GREY = (114, 114, 114)


@dataclass
class Occluder:
    image: np.ndarray  # a real photo patch, pasted in output pixels
    start: tuple[int, int]  # top-left at the first frame
    end: tuple[int, int]  # top-left at the last frame


@dataclass
class Shot:
    image: np.ndarray
    truth: Truth  # boxes in the photograph's pixels
    frames: int
    keys: list[tuple[float, float, float]]  # (centre x, centre y, window width) in photo px
    occluder: Occluder | None = None
    ignore: list[Box] = field(default_factory=list)


def _lerp(keys: list[tuple[float, float, float]], t: float) -> tuple[float, float, float]:
    if len(keys) == 1:
        return keys[0]
    pos = t * (len(keys) - 1)
    k = min(int(pos), len(keys) - 2)
    f = pos - k
    a, b = keys[k], keys[k + 1]
    return tuple(a[i] + (b[i] - a[i]) * f for i in range(3))  # type: ignore[return-value]


def _overlap(a: Box, b: Box) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def render(shot: Shot, size: tuple[int, int]) -> Iterator[tuple[np.ndarray, Truth]]:
    """Frames of `size` (width, height) and each frame's truth in output pixels."""
    out_w, out_h = size
    for i in range(shot.frames):
        t = i / max(shot.frames - 1, 1)
        cx, cy, width = _lerp(shot.keys, t)
        scale = out_w / width
        x0, y0 = cx - width / 2, cy - (out_h / scale) / 2
        matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        frame = cv2.warpAffine(
            shot.image,
            matrix,
            (out_w, out_h),
            flags=interpolation,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=_GREY,
        )
        hidden: Box | None = None
        if shot.occluder is not None:
            occ = shot.occluder
            ox = round(occ.start[0] + (occ.end[0] - occ.start[0]) * t)
            oy = round(occ.start[1] + (occ.end[1] - occ.start[1]) * t)
            oh, ow = occ.image.shape[:2]
            fx0, fy0, fx1, fy1 = max(ox, 0), max(oy, 0), min(ox + ow, out_w), min(oy + oh, out_h)
            if fx1 > fx0 and fy1 > fy0:
                frame[fy0:fy1, fx0:fx1] = occ.image[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox]
                hidden = [fx0, fy0, fx1 - fx0, fy1 - fy0]
        truth: Truth = {"ignore": []}
        for label, boxes in shot.truth.items():
            for box in boxes:
                mapped = [
                    (box[0] - x0) * scale,
                    (box[1] - y0) * scale,
                    box[2] * scale,
                    box[3] * scale,
                ]
                area = mapped[2] * mapped[3]
                visible = _overlap(mapped, [0, 0, out_w, out_h])
                if hidden is not None:
                    visible -= _overlap(mapped, hidden)
                clipped = _clip(mapped, out_w, out_h)
                if clipped is None:
                    continue
                if area > 0 and visible >= 0.5 * area:
                    truth.setdefault(label, []).append(clipped)
                else:
                    truth["ignore"].append(clipped)
        for box in shot.ignore:
            mapped = _map(box, x0, y0, scale)
            clipped = _clip(mapped, out_w, out_h)
            if clipped is not None:
                truth["ignore"].append(clipped)
        yield frame, truth


def _map(box: Box, x0: float, y0: float, scale: float) -> Box:
    return [(box[0] - x0) * scale, (box[1] - y0) * scale, box[2] * scale, box[3] * scale]


def _clip(box: Box, width: int, height: int) -> Box | None:
    x0, y0 = max(box[0], 0), max(box[1], 0)
    x1, y1 = min(box[0] + box[2], width), min(box[1] + box[3], height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]


def mirror(image: np.ndarray, truth: Truth) -> tuple[np.ndarray, Truth]:
    """The photograph flipped left-right (a face turned the other way), with its truth."""
    width = image.shape[1]
    flipped = {k: [[width - b[0] - b[2], b[1], b[2], b[3]] for b in v] for k, v in truth.items()}
    return cv2.flip(image, 1), flipped


def paste(canvas: np.ndarray, patch: np.ndarray, at: tuple[int, int]) -> None:
    x, y = at
    h, w = patch.shape[:2]
    canvas[y : y + h, x : x + w] = patch[: canvas.shape[0] - y, : canvas.shape[1] - x]


def letterbox_frame(frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, int, int]:
    """A real video frame fitted into `size` with black bars (for the cut montage)."""
    out_w, out_h = size
    h, w = frame.shape[:2]
    scale = min(out_w / w, out_h / h)
    nw, nh = round(w * scale), round(h * scale)
    canvas = np.zeros((out_h, out_w, 3), np.uint8)
    ox, oy = (out_w - nw) // 2, (out_h - nh) // 2
    canvas[oy : oy + nh, ox : ox + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas, scale, ox, oy
