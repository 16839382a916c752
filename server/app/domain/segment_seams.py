"""Stitching tracks across a seam: which later track continues which earlier one.

Two neighbouring segments both analysed the seam's overlap (the later one starts
`overlap_s` before the earlier one ends), each with its own tracker and its own ids.
On the frames both hold, a track of the earlier segment and one of the later segment
that box the same object overlap frame after frame. Each pair of same-label tracks is
scored by its IoU summed over those frames, divided by the frames where either track
is present (1.0: the same boxes on every frame; a track seen on only half the overlap
scores at most 0.5), each frame weighted by its nearness to the overlap's end (see
`match_tracks`), and the pairing of largest total score is taken (the Hungarian
method, scipy's `linear_sum_assignment`). Pairs under `MIN_SEAM_SCORE` are not joined:
the later track keeps an id of its own.

The overlap's frames themselves are taken from the earlier segment (a fixed rule):
its tracker has seen the objects for the whole segment, while the later one is
starting cold at the overlap's first frame; by the overlap's last frame it has warmed
up, and its tracks go on from there under the earlier segment's ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.domain.detections import box_iou
from app.domain.segment_files import SegmentFiles

# A later track continues an earlier one when their boxes agree at least this well
# over the overlap (see the module docstring for the score).
MIN_SEAM_SCORE = 0.3

Boxes = dict[int, dict[int, tuple[str, list[int]]]]  # frame -> track id -> (label, box)


@dataclass(frozen=True)
class Seam:
    """Where one segment hands over to the next."""

    last_kept: int  # the last frame number taken from the earlier segment
    # The later segment's track id -> the earlier segment's track id it continues.
    continues: dict[int, int] = field(default_factory=dict)
    overlap_frames: int = 0  # frames both segments analysed


def find_seam(earlier: SegmentFiles, later: SegmentFiles) -> Seam:
    """The seam between two neighbouring segments' results (see the module docstring)."""
    last = earlier.last_index()
    first = later.first_index()
    if last is None:
        return Seam(last_kept=(first - 1) if first is not None else -1)
    if first is None or first > last:
        return Seam(last_kept=last)
    before = _boxes(earlier.window(first, last))
    after = _boxes(later.window(first, last))
    common = sorted(set(before) & set(after))
    return Seam(last, match_tracks(before, after, common), len(common))


def _boxes(items: Iterable[dict[str, Any]]) -> Boxes:
    boxes: Boxes = {}
    for item in items:
        frame = boxes.setdefault(item["frame_index"], {})
        for detection in item["result"].get("detections") or ():
            track_id = detection.get("track_id")
            if isinstance(track_id, int):
                frame[track_id] = (detection["label"], detection["bbox"])
    return boxes


def match_tracks(before: Boxes, after: Boxes, frames: list[int]) -> dict[int, int]:
    """Later track id -> earlier track id, over the frames both segments hold. Frames
    weigh more the nearer they are to the overlap's end (1 at the last, 1/n at the
    first): that is where the later tracker has warmed up and where the earlier track
    must be to hand over, so an earlier track that ended mid-overlap (the earlier
    tracker switched ids there) loses to the one alive at the hand-over."""
    overlap: dict[tuple[int, int], float] = {}
    together: dict[tuple[int, int], float] = {}
    present: dict[tuple[str, int], float] = {}  # ("a"|"b", track) -> weighted frames
    for position, index in enumerate(frames):
        weight = (position + 1) / len(frames)
        a_tracks, b_tracks = before.get(index, {}), after.get(index, {})
        for a in a_tracks:
            present[("a", a)] = present.get(("a", a), 0.0) + weight
        for b in b_tracks:
            present[("b", b)] = present.get(("b", b), 0.0) + weight
        for a, (a_label, a_box) in a_tracks.items():
            for b, (b_label, b_box) in b_tracks.items():
                if a_label == b_label and (iou := box_iou(a_box, b_box)) > 0:
                    overlap[(a, b)] = overlap.get((a, b), 0.0) + iou * weight
                    together[(a, b)] = together.get((a, b), 0.0) + weight
    scores: dict[tuple[int, int], float] = {}
    for (a, b), summed in overlap.items():
        either = present[("a", a)] + present[("b", b)] - together[(a, b)]
        scores[(a, b)] = summed / max(either, 1e-9)
    return _best_pairing(scores) if scores else {}


def _best_pairing(scores: dict[tuple[int, int], float]) -> dict[int, int]:
    """The one-to-one pairing of largest summed score, keeping pairs >= MIN_SEAM_SCORE."""
    from scipy.optimize import linear_sum_assignment  # the solver only; inputs are lists

    earlier = sorted({a for a, _ in scores})
    later = sorted({b for _, b in scores})
    cost = [[-scores.get((a, b), 0.0) for b in later] for a in earlier]
    rows, cols = linear_sum_assignment(cost)
    continues: dict[int, int] = {}
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        a, b = earlier[row], later[col]
        if scores.get((a, b), 0.0) >= MIN_SEAM_SCORE:
            continues[b] = a
    return continues
