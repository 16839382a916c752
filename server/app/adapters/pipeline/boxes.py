"""Boxes inside the picture: the contract says every box lies within the frame,
predicted and carried ones included (0 <= x, x + w <= width, likewise y).

Detectors mostly return boxes inside the image, but not all of them do, and the tracker
moves carried boxes by a track's velocity, which takes a person walking out of the
picture past its edge. Every box of a frame goes through `fit_box` on its way out of
the tracker stage, the last place a box is made or moved.

A carried box is a prediction, not a measurement. When less than a quarter of it is
still inside the picture, its centre is well outside on at least one axis: the object
has most likely left, and a detector would no longer report it (the detectors here
report a partly visible object by its visible part, so a true box that small would have
shrunk already). A sliver under 2 px on a side shows nothing either (the annotated
video's outline alone is 2 px wide). Such a box is dropped rather than drawn at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_VISIBLE_SHARE = 0.25  # of a carried box's area, for it to be kept
MIN_VISIBLE_SIDE = 2  # pixels, for a carried box to be kept


def fit_box(
    box: Sequence[float], width: int | None, height: int | None, *, carried: bool = False
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
