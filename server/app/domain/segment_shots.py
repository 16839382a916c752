"""Shot numbers over the whole video from each segment's own, each cut taken once.

Each segment numbered its shots from 0 (its summary's `shots`, a few per segment).
The frames a segment contributes run from just after the earlier segment's last frame;
the seam's last kept frame `p` is in both segments (the overlap), so the later
segment's shot at `p` is the earlier segment's last shot: the same shot, carried on
under the earlier number. A cut the later segment found after `p` starts a new shot; a
cut inside the overlap was taken from the earlier segment (whose frames those are), so
no cut is counted twice. Without an overlap (a seam with no common frame), the later
segment's first shot is taken to continue the earlier's last one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any


class SegmentShots:
    """A segment's shots, mapped to the whole video's numbering."""

    def __init__(self, shots: Sequence[dict[str, Any]], base: int = 0) -> None:
        ordered = sorted((int(s["start_frame"]), int(s["index"])) for s in shots)
        self._starts = [start for start, _ in ordered]
        self._local = [index for _, index in ordered]
        self.base = base  # whole-video shot = base + this segment's shot

    def local_at(self, frame_index: int) -> int:
        position = bisect.bisect_right(self._starts, frame_index) - 1
        return self._local[max(position, 0)] if self._local else 0

    def at(self, frame_index: int) -> int:
        return self.base + self.local_at(frame_index)

    def followed_by(self, shots: Sequence[dict[str, Any]], last_kept: int) -> SegmentShots:
        """The next segment's shots, numbered on from this one's at frame `last_kept`."""
        later = SegmentShots(shots)
        later.base = self.at(last_kept) - later.local_at(last_kept)
        return later
