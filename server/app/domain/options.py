"""What part of the work a submit asks for (contract "Analysis options").

Plain data, validated once at submit and stored with the job as a dict, so the worker
runs exactly what the client asked for and status and results echo it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AnalysisOptions:
    """`sample_fps`: analyse at most this many frames per second of video (by timestamp);
    `start_s`/`end_s`: the time range (start inclusive, end exclusive); `min_confidence`:
    drop weaker detections; `labels`: keep only these labels; `annotate`: also render an
    annotated video."""

    sample_fps: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    min_confidence: float | None = None
    labels: tuple[str, ...] | None = None
    annotate: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels) if self.labels is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AnalysisOptions:
        """The options stored with a job (None for jobs older than options: all defaults)."""
        if not data:
            return cls()
        known = {name: data.get(name) for name in cls.__dataclass_fields__ if name in data}
        if known.get("labels") is not None:
            known["labels"] = tuple(known["labels"])
        known["annotate"] = bool(known.get("annotate", False))
        return cls(**known)
