"""Box arithmetic shared by the detectors, the tracker and the evaluation.

Boxes are `[x, y, w, h]` in frame pixels. One IoU and one non-maximum suppression, in
numpy, so every step, the tracker and `make eval` agree on what "the same box" means;
and one rule for keeping boxes inside the picture (`fit_box`).

The contract says every box lies within the frame, predicted and carried ones included
(0 <= x, x + w <= width, likewise y). Detectors mostly return boxes inside the image,
but not all of them do, and the tracker moves carried boxes by a track's velocity, which
takes a person walking out of the picture past its edge. Every box of a frame goes
through `fit_box` in the tracker stage, the last place a box is made or moved.

A carried box is a prediction, not a measurement. When less than a quarter of it is
still inside the picture, its centre is well outside on at least one axis: the object
has most likely left, and a detector would no longer report it (the detectors here
report a partly visible object by its visible part, so a true box that small would have
shrunk already). A sliver under 2 px on a side shows nothing either (the annotated
video's outline alone is 2 px wide). Such a box is dropped rather than drawn at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.domain.detections import box_iou

# A box whose area lies this much inside a kept box is the same object boxed in part
# (a face inside its head, a torso inside the person): IoU alone misses such a pair.
NESTED_SHARE = 0.8


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every [x, y, w, h] row of `a` with every row of `b` (0 for empty boxes)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax0, ay0 = a[:, 0:1], a[:, 1:2]
    ax1, ay1 = ax0 + a[:, 2:3], ay0 + a[:, 3:4]
    bx0, by0 = b[:, 0], b[:, 1]
    bx1, by1 = bx0 + b[:, 2], by0 + b[:, 3]
    inter = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None) * np.clip(
        np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None
    )
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


# Two boxes' IoU: the domain's (the track table needs it and imports no adapter).
iou = box_iou


def suppress(boxes: npt.ArrayLike, scores: npt.ArrayLike, max_iou: float) -> list[int]:
    """Greedy non-maximum suppression over [x, y, w, h] rows: the indices kept, best
    first. A box goes when it overlaps a kept one by more than `max_iou`, or when
    NESTED_SHARE of it lies inside a kept one. Scores equal to two decimals count as a
    tie, won by the larger box (the whole object rather than a part of it)."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    scores = np.asarray(scores, dtype=float)
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    areas = np.maximum(boxes[:, 2], 0) * np.maximum(boxes[:, 3], 0)
    order, kept = list(np.lexsort((-areas, -np.round(scores, 2)))), []
    while order:
        i, rest = order[0], np.asarray(order[1:], dtype=np.int64)
        kept.append(int(i))
        if not len(rest):
            break
        w = np.clip(np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]), 0, None)
        h = np.clip(np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]), 0, None)
        inter = w * h
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
        nested = inter > NESTED_SHARE * np.maximum(areas[rest], 1e-9)
        order = [int(j) for j in rest[(overlap <= max_iou) & ~nested]]
    return kept


MIN_VISIBLE_SHARE = 0.25  # of a carried box's area, for it to be kept
MIN_VISIBLE_SIDE = 2  # pixels, for a carried box to be kept


def fit_box(
    box: Sequence[float] | np.ndarray,
    width: int | None,
    height: int | None,
    *,
    carried: bool = False,
) -> list[int] | None:
    """`box` (x, y, w, h) rounded to whole pixels and clipped to a `width` x `height`
    frame (only to x, y >= 0 when the size is unknown). None when nothing of it is
    inside, or, for a carried box, when too little of it is (see the module's rule)."""
    x0, y0, w, h = (float(v) for v in box)
    x1, y1 = x0 + w, y0 + h
    left, top = max(x0, 0.0), max(y0, 0.0)
    right = x1 if width is None else min(x1, float(width))
    bottom = y1 if height is None else min(y1, float(height))
    visible_w, visible_h = right - left, bottom - top
    if visible_w <= 0 or visible_h <= 0:
        return None
    if carried:
        share = (visible_w * visible_h) / max(w * h, 1e-9)
        if share < MIN_VISIBLE_SHARE or min(visible_w, visible_h) < MIN_VISIBLE_SIDE:
            return None
    ix0, iy0 = round(left), round(top)
    ix1, iy1 = round(right), round(bottom)
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    return [ix0, iy0, ix1 - ix0, iy1 - iy0]
