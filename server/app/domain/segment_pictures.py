"""A split job's shot keyframes and black runs, taken from its segments' own.

The merge decodes no pictures, but each segment did while it ran: its summary lists its
shots' keyframes (the JPEG `<segment_id>_shot<i>.jpg` and the frame it shows) and its
black runs. The parent reuses them instead of decoding the video a second time:

- a whole-video shot takes the first keyframe any segment found for it, in segment
  order (a shot that crosses a seam has one in each of the two segments: the earlier
  one's, like the frames of the overlap);
- black runs come from the segment that owns their frames (up to a seam's last kept
  frame the earlier segment, after it the later one); a run that crosses the seam was
  seen in the overlap by both segments, and the two halves are joined into one run.

Only file keys and a few numbers per shot and run are kept; copying the JPEG files is
the pictures sink's (it owns, and on abort removes, the parent's keyframe files).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.model import shot_keyframe_key
from app.domain.segment_shots import SegmentShots


@dataclass(frozen=True)
class KeyframeSource:
    """Where a whole-video shot's keyframe is stored, and the frame it shows."""

    key: str  # the segment's JPEG
    keyframe: dict[str, int]  # {"frame_index", "timestamp_ms"}, as the summary lists it


@dataclass
class SegmentPictures:
    """Collected segment by segment, in order, while the merge streams their frames."""

    keyframes: dict[int, KeyframeSource] = field(default_factory=dict)
    black_segments: list[dict[str, int]] = field(default_factory=list)

    def add_segment(
        self,
        segment_id: uuid.UUID,
        shots: Sequence[dict[str, Any]],
        black: Sequence[dict[str, Any]],
        numbering: SegmentShots,
        owned: tuple[int | None, int | None],
    ) -> None:
        """One segment's summary lists; `numbering` maps its shots to the whole video's,
        `owned` is (earlier seam's last kept frame, next seam's last kept frame): the
        segment's own frames are after the first and up to the second (None: no seam)."""
        for shot in shots:
            keyframe = shot.get("keyframe")
            if not isinstance(keyframe, dict) or "frame_index" not in keyframe:
                continue
            whole = numbering.base + int(shot["index"])
            key = shot_keyframe_key(segment_id, int(shot["index"]))
            self.keyframes.setdefault(whole, KeyframeSource(key, dict(keyframe)))
        after, up_to = owned
        for run in black:
            start, end = int(run["start_frame"]), int(run["end_frame"])
            if (after is not None and end <= after) or (up_to is not None and start > up_to):
                continue  # the neighbour owns these frames and lists the run itself
            self._add_run(
                {k: int(run[k]) for k in ("start_ms", "end_ms", "start_frame", "end_frame")}
            )

    def _add_run(self, run: dict[str, int]) -> None:
        last = self.black_segments[-1] if self.black_segments else None
        if last is not None and run["start_frame"] <= last["end_frame"]:
            if run["end_frame"] > last["end_frame"]:  # the same run, seen on both sides
                last["end_frame"], last["end_ms"] = run["end_frame"], run["end_ms"]
            return
        self.black_segments.append(run)
