"""Scores: boxes matched per frame at IoU >= 0.5, cuts matched within +-1 frame."""

from __future__ import annotations

from dataclasses import dataclass

from app.adapters.pipeline.boxes import iou

IOU_MATCH = 0.5
CUT_TOLERANCE = 1


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    frames: int = 0
    frames_with_fp: int = 0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.frames += other.frames
        self.frames_with_fp += other.frames_with_fp

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _mostly_inside(box, region) -> bool:
    w = min(box[0] + box[2], region[0] + region[2]) - max(box[0], region[0])
    h = min(box[1] + box[3], region[1] + region[3]) - max(box[1], region[1])
    return w > 0 and h > 0 and w * h >= 0.5 * box[2] * box[3]


def score_frame(detections: list[dict], truth: dict, labels: tuple[str, ...]) -> Score:
    """Greedy matching, most confident detection first, one truth box per detection and
    label. A detection left over that overlaps an ignore region (IoU >= 0.5, or half of
    it inside) counts neither way; `labels` empty means every label in the truth and
    every label detected."""
    score = Score(frames=1)
    wanted = (
        set(labels)
        if labels
        else {k for k in truth if k != "ignore"} | {d["label"] for d in detections}
    )
    ignore = truth.get("ignore", [])
    for label in wanted:
        boxes = list(truth.get(label, []))
        used = [False] * len(boxes)
        found = sorted(
            (d for d in detections if d["label"] == label), key=lambda d: -d["confidence"]
        )
        for det in found:
            best, best_iou = -1, IOU_MATCH
            for i, box in enumerate(boxes):
                overlap = iou(det["bbox"], box)
                if not used[i] and overlap >= best_iou:
                    best, best_iou = i, overlap
            if best >= 0:
                used[best] = True
                score.tp += 1
            elif not any(
                iou(det["bbox"], r) >= IOU_MATCH or _mostly_inside(det["bbox"], r) for r in ignore
            ):
                score.fp += 1
        score.fn += used.count(False)
    score.frames_with_fp = int(score.fp > 0)
    return score


def score_cuts(found: list[int], truth: list[int]) -> Score:
    score = Score(frames=1)
    left = sorted(truth)
    for cut in sorted(found):
        match = next((t for t in left if abs(t - cut) <= CUT_TOLERANCE), None)
        if match is None:
            score.fp += 1
        else:
            left.remove(match)
            score.tp += 1
    score.fn = len(left)
    return score
