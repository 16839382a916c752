"""The summary's `texts`: each distinct line of text read, the tracks that showed it and
when it was first and last on screen.

A reading is grouped by its exact text (spacing collapsed): "EXIT" and "Exit" are two
entries, as a search for either should find the frames that showed it. State is one
small record per distinct text (like the summary's per-track state), never per frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.domain.detections import Detection


@dataclass
class _TextTotals:
    start_ms: int
    end_ms: int
    track_ids: set[int] = field(default_factory=set)


class TextsBuilder:
    def __init__(self, label: str = "text") -> None:
        self.label = label
        self._texts: dict[str, _TextTotals] = {}

    def add(self, timestamp_ms: int, detections: Iterable[Detection]) -> None:
        for detection in detections:
            if detection.label != self.label or not detection.text:
                continue
            text = " ".join(detection.text.split())
            totals = self._texts.get(text)
            if totals is None:
                totals = self._texts[text] = _TextTotals(timestamp_ms, timestamp_ms)
            totals.end_ms = max(totals.end_ms, timestamp_ms)
            if detection.track_id is not None:
                totals.track_ids.add(detection.track_id)

    def texts(self) -> list[dict[str, Any]]:
        """In order of first appearance (then alphabetical)."""
        ordered = sorted(self._texts.items(), key=lambda kv: (kv[1].start_ms, kv[0]))
        return [
            {
                "text": text,
                "track_ids": sorted(totals.track_ids),
                "start_ms": totals.start_ms,
                "end_ms": totals.end_ms,
            }
            for text, totals in ordered
        ]
