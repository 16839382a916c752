"""What a tracked object looks like: a colour histogram of its box, as DeepSORT and
BoT-SORT keep an appearance feature per track beside its motion.

Why a histogram and not an embedding: no re-identification network ships inside a
registry package we can use (docs/models.md), and the tracker must stay a few
milliseconds per frame on two cores. A hue-saturation histogram of the box's upper and
lower halves (a shirt and trousers, a car's body and its wheels) tells apart two people
who cross, which is where motion alone swaps their ids: at the crossing both boxes
overlap both predictions about equally.

- `describe(image, box)`: the feature of one box, or None when the box is too small
  to say anything (under 8 px a side) or not in the image;
- `similarity(a, b)`: 1 - Bhattacharyya distance (OpenCV's `HISTCMP_BHATTACHARYYA`),
  1.0 for the same colours, near 0 for none in common;
- `Appearance`: a track's feature, an exponential moving average of its boxes'
  (BoT-SORT's 0.9 weight on the past), so one frame of a passer-by in front does not
  replace what the track looks like.

Only the central part of a box is read (the middle 60% of its width, 90% of its
height): a person's box holds background at its sides.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

HUE_BINS = 12
SATURATION_BINS = 4
MIN_SIDE = 8
# Pixels this dark carry no hue worth comparing (shadows, black clothes read as noise).
MIN_VALUE = 32
HISTORY = 0.9  # weight of the track's past feature when a new box is seen


def describe(image: np.ndarray | None, box: Sequence[float] | np.ndarray) -> np.ndarray | None:
    """The HSV histogram (upper half, lower half) of the centre of `box` (x, y, w, h)."""
    if image is None or image.ndim != 3:
        return None
    x, y, w, h = (float(v) for v in box)
    left, right = x + 0.2 * w, x + 0.8 * w
    top, bottom = y + 0.05 * h, y + 0.95 * h
    height, width = image.shape[:2]
    x0, x1 = max(int(left), 0), min(int(right), width)
    y0, y1 = max(int(top), 0), min(int(bottom), height)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        return None
    hsv = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    middle = hsv.shape[0] // 2
    parts = []
    for half in (hsv[:middle], hsv[middle:]):
        mask = (half[:, :, 2] >= MIN_VALUE).astype(np.uint8)
        hist = cv2.calcHist(
            [half], [0, 1], mask, [HUE_BINS, SATURATION_BINS], [0, 180, 0, 256]
        ).ravel()
        # One extra bin: the dark pixels, so black against white still differs.
        hist = np.append(hist, float(mask.size - int(mask.sum())))
        parts.append(hist / max(float(hist.sum()), 1.0))
    return np.concatenate(parts).astype(np.float32)


def similarity(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """1 - Bhattacharyya distance of two features (each half weighs the same); None
    when either is unknown."""
    if a is None or b is None:
        return None
    distance = cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA)
    return float(np.clip(1.0 - distance, 0.0, 1.0))


class Appearance:
    """A track's appearance: the moving average of its boxes' features."""

    def __init__(self) -> None:
        self.feature: np.ndarray | None = None

    def add(self, feature: np.ndarray | None) -> None:
        if feature is None:
            return
        if self.feature is None:
            self.feature = feature
        else:
            self.feature = HISTORY * self.feature + (1 - HISTORY) * feature

    def similarity(self, feature: np.ndarray | None) -> float | None:
        return similarity(self.feature, feature)


def similarity_matrix(features: list[np.ndarray | None], tracks: list[Appearance]) -> np.ndarray:
    """Rows: detections, columns: tracks; NaN where either side is unknown."""
    out = np.full((len(features), len(tracks)), np.nan)
    for row, feature in enumerate(features):
        for col, track in enumerate(tracks):
            value = track.similarity(feature)
            if value is not None:
                out[row, col] = value
    return out


# Ties: a pair's motion score (overlap or nearness) is weighed by 0.5 + similarity, so
# of two tracks a box overlaps about equally, the one that looks like it wins, while a
# clear overlap still beats a look-alike.
# Re-finding: a box that no motion pass paired continues a lost track of similar size
# whose predicted centre is within REFIND_REACH of its diagonals, if they look this
# alike (two walkers in similar clothes score 0.5-0.7 here; the same one, 0.8-0.95).
REFIND_SIMILARITY = 0.8
REFIND_REACH = 2.0
# Gating (BoT-SORT rejects a pair whose embeddings are too far apart): boxes that look
# this little alike are not one object, however well they overlap.
VETO_SIMILARITY = 0.3


def weigh(scores: np.ndarray, similarities: np.ndarray, minimum: float) -> np.ndarray:
    """Pairs allowed by motion (score >= minimum) and not told apart by appearance
    (similarity >= VETO_SIMILARITY), weighed by appearance; others 0."""
    known = np.nan_to_num(similarities, nan=1.0)
    factor = np.where(np.isnan(similarities), 1.0, 0.5 + known)
    allowed = (scores >= minimum) & (known >= VETO_SIMILARITY)
    return np.where(allowed, scores * factor, 0.0)


def refind_scores(boxes: np.ndarray, predicted: np.ndarray, similarities: np.ndarray) -> np.ndarray:
    """Rows: boxes, columns: lost tracks' predicted boxes; the similarity where the box
    is near enough and of a similar size, else 0."""
    if boxes.size == 0 or predicted.size == 0:
        return np.zeros((len(boxes), len(predicted)))
    centre_a = boxes[:, None, :2] + boxes[:, None, 2:] / 2
    centre_b = predicted[None, :, :2] + predicted[None, :, 2:] / 2
    distance = np.linalg.norm(centre_a - centre_b, axis=2)
    diagonal = np.linalg.norm(predicted[:, 2:], axis=1)[None, :]
    area_a = boxes[:, None, 2] * boxes[:, None, 3]
    ratio = area_a / np.maximum(predicted[None, :, 2] * predicted[None, :, 3], 1)
    gate = (distance <= REFIND_REACH * diagonal) & (ratio >= 0.5) & (ratio <= 2.0)
    known = np.nan_to_num(similarities, nan=0.0)
    return np.where(gate & (known >= REFIND_SIMILARITY), known, 0.0)
