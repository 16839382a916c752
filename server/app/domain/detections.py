"""One detected object in one frame, from the model wrapper to the results writer.

Steps make them, the tracker and the filters change them, the sinks read them; each is
serialised once, by `to_dict`, into the contract's shape. Boxes are `[x, y, w, h]`
integers in the original frame's pixels. A detector that gives no score reports 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Keys of the contract's detection object that are fields here; anything else a step
# adds (a QR code's decoded text is a field, a future model's attribute goes in extra).
_FIELDS = ("label", "bbox", "confidence", "track_id", "carried", "tracked", "text")


@dataclass(slots=True)
class Detection:
    label: str
    bbox: list[int]
    confidence: float = 1.0
    track_id: int | None = None
    carried: bool = False  # repeated by a step that detects every n-th frame
    tracked: bool = False  # its box is the tracker's prediction, not a measurement
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bbox = [int(v) for v in self.bbox]
        self.confidence = unit_score(self.confidence)

    @property
    def area(self) -> int:
        return max(self.bbox[2], 0) * max(self.bbox[3], 0)

    def to_dict(self) -> dict[str, Any]:
        """The results item's shape: optional keys only when they say something."""
        out: dict[str, Any] = {
            "label": self.label,
            "bbox": list(self.bbox),
            "confidence": self.confidence,
        }
        if self.text is not None:
            out["text"] = self.text
        if self.track_id is not None:
            out["track_id"] = self.track_id
        if self.carried:
            out["carried"] = True
        if self.tracked:
            out["tracked"] = True
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Detection:
        """From a stored results item (the frame images redraw what the worker wrote).
        ValueError when it has no `[x, y, w, h]` box or no label."""
        bbox, label = data.get("bbox"), data.get("label")
        if not isinstance(bbox, list | tuple) or len(bbox) != 4 or not isinstance(label, str):
            raise ValueError(f"not a detection: {data!r:.80}")
        return cls(
            label=label,
            bbox=[round(float(v)) for v in bbox],
            confidence=data.get("confidence", 1.0),
            track_id=data.get("track_id"),
            carried=bool(data.get("carried", False)),
            tracked=bool(data.get("tracked", False)),
            text=data.get("text"),
            extra={k: v for k, v in data.items() if k not in _FIELDS},
        )


def unit_score(value: Any) -> float:
    """A confidence as the contract has it: a float in 0..1, four decimals; a score
    that is not a number (NaN from a broken model) counts as 0."""
    score = float(value)
    if not math.isfinite(score):
        return 0.0
    return round(min(max(score, 0.0), 1.0), 4)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x, y, w, h] boxes (0 when they do not overlap).
    The one scalar IoU: the domain's track table uses it, and the pipeline's box module
    (`adapters/pipeline/boxes.py`, which also holds the vectorised form) re-exports it."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return float(inter / (aw * ah + bw * bh - inter))
