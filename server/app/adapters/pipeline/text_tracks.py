"""Text tracks: the same string in about the same place over time is one track.

The object tracker matches boxes by overlap and motion per label; for text that would
join two different captions shown one after the other at the same place, and a line's
box barely moves. So lines of text are numbered here instead (the tracker leaves the
`text` label alone): a line continues a track when it reads the same (case and spacing
aside) or nearly the same (one letter in four misread: similarity `SIMILAR` or more) and
its box overlaps the track's last box (IoU `MIN_IOU` or more, `MIN_IOU_SIMILAR` for a
near reading); each track takes one line per frame. A track ends when no line continued
it for `max_gap_ms` (longer than the time between two OCR readings, during which the
step repeats its lines, so one missed reading keeps the id) and at a shot cut. Ids come
from the object tracker's counter: one job's ids are unique across both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from app.adapters.pipeline.boxes import iou
from app.domain.detections import Detection
from app.domain.frames import Frame, FrameStage

TEXT_LABEL = "text"
MIN_IOU = 0.3
MIN_IOU_SIMILAR = 0.5
SIMILAR = 0.75
MAX_GAP_MS = 3000


def text_key(text: str) -> str:
    """What two readings must share to be the same text: case and spacing aside."""
    return " ".join(text.split()).casefold()


@dataclass
class _TextTrack:
    track_id: int
    key: str
    box: list[int]
    last_ms: int


class TextTracker:
    """Numbers text detections in place; `new_id` hands out the job's next track id."""

    def __init__(self, new_id: Callable[[], int], max_gap_ms: int = MAX_GAP_MS) -> None:
        self.new_id = new_id
        self.max_gap_ms = int(max_gap_ms)
        self._tracks: list[_TextTrack] = []

    def end_all(self) -> list[int]:
        ended = [t.track_id for t in self._tracks]
        self._tracks.clear()
        return ended

    def update(self, detections: list[Detection], now_ms: int) -> list[int]:
        """Set `track_id` on the frame's text detections; returns the ids that ended."""
        alive = [t for t in self._tracks if now_ms - t.last_ms <= self.max_gap_ms]
        ended = [t.track_id for t in self._tracks if t not in alive]
        self._tracks = alive
        lines = [d for d in detections if d.label == TEXT_LABEL and d.text is not None]
        candidates = []
        for li, line in enumerate(lines):
            key = text_key(line.text or "")
            for ti, track in enumerate(self._tracks):
                score = _match(key, line.bbox, track)
                if score > 0:
                    candidates.append((score, li, ti))
        used_lines: set[int] = set()
        used_tracks: set[int] = set()
        for _score, li, ti in sorted(candidates, reverse=True):
            if li in used_lines or ti in used_tracks:
                continue
            used_lines.add(li)
            used_tracks.add(ti)
            track, line = self._tracks[ti], lines[li]
            line.track_id = track.track_id
            track.box, track.last_ms = list(line.bbox), now_ms
            if not line.carried:
                track.key = text_key(line.text or "")
        for li, line in enumerate(lines):
            if li not in used_lines:
                track = _TextTrack(
                    self.new_id(), text_key(line.text or ""), list(line.bbox), now_ms
                )
                self._tracks.append(track)
                line.track_id = track.track_id
        return ended


def _match(key: str, box: list[int], track: _TextTrack) -> float:
    """How well a line continues a track (0 = not at all): same reading first, then
    overlap."""
    overlap = iou(box, track.box)
    if key == track.key:
        return 1.0 + overlap if overlap >= MIN_IOU else 0.0
    if overlap >= MIN_IOU_SIMILAR and SequenceMatcher(None, key, track.key).ratio() >= SIMILAR:
        return overlap
    return 0.0


class TextTrackStage(FrameStage):
    """The text tracker as a frame-loop stage, after the tracking stage (whose ended ids
    it adds to): a new shot ends every text track first."""

    def __init__(self, tracker: TextTracker) -> None:
        self.tracker = tracker
        self._shot: int | None = None

    def process(self, frame: Frame) -> None:
        ended = []
        if frame.shot != self._shot:
            ended = self.tracker.end_all()
            self._shot = frame.shot
        ended += self.tracker.update(frame.detections or [], frame.timestamp_ms)
        if ended:
            frame.ended_tracks = sorted({*frame.ended_tracks, *ended})
