"""What is in the video, when, for how long: the summary's shots, labels and tracks.

Built one frame at a time with small state per label and per track (never a per-frame
list), so memory does not grow with the video's length. Written by the worker when the
job completes (contract "Tracks, shots and summaries"); the API only reads the file.

Time covered by a frame: from its timestamp to the next analysed frame's (so with
`sample_fps=1` each analysed frame stands for one second); the last frame covers as
long as the one before it. A label's `screen_time_ms` sums its frames' cover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.domain.detections import Detection


@dataclass
class _LabelTotals:
    frames: int = 0
    screen_time_ms: int = 0
    max_confidence: float = 0.0
    tracks: int = 0


@dataclass(slots=True)
class TrackTotals:
    track_id: int
    label: str
    first_frame: int
    start_ms: int
    last_frame: int = 0
    end_ms: int = 0
    frames: int = 0
    max_confidence: float = -1.0
    best_frame: int = 0
    best_bbox: list[int] = field(default_factory=list)
    covered_until_ms: int = 0  # end of the last frame's cover (for the WebVTT cue)
    text: str | None = None  # a text track's most confident reading (for the WebVTT cue)
    screen_time_ms: int = 0  # the cover of its frames (a person's screen time sums these)

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "label": self.label,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "frames": self.frames,
            "max_confidence": self.max_confidence,
            "best_frame": self.best_frame,
            "best_bbox": self.best_bbox,
        }


class SummaryBuilder:
    """Accumulates shots, labels and tracks, handing finished shots and tracks over."""

    def __init__(
        self,
        on_shot: Callable[[dict[str, int]], None] | None = None,
        on_track: Callable[[TrackTotals], None] | None = None,
    ) -> None:
        # Finished shots and tracks go to `on_shot` and `on_track` (the sink writes them
        # out): a long video with many cuts or objects must not grow the worker.
        self._on_shot = on_shot or (lambda _shot: None)
        self._on_track = on_track or (lambda _track: None)
        self._shot: dict[str, int] | None = None
        self._labels: dict[str, _LabelTotals] = {}
        self._tracks: dict[int, TrackTotals] = {}
        # The previous frame's labels and tracks wait for the next timestamp to know
        # how long that frame covers.
        self._pending: tuple[int, set[str], set[int]] | None = None
        self._last_step_ms = 0

    def add(
        self,
        index: int,
        timestamp_ms: int,
        detections: Iterable[Detection],
        shot: int = 0,
        ended: Iterable[int] = (),
    ) -> None:
        """Count one frame; `ended` are track ids that can no longer continue."""
        self._settle(timestamp_ms)
        for ended_id in ended:
            finished = self._tracks.pop(ended_id, None)
            if finished is not None:
                self._on_track(finished)
        if self._shot is None or self._shot["index"] != shot:
            if self._shot is not None:
                self._on_shot(self._shot)
            self._shot = {
                "index": shot,
                "start_frame": index,
                "end_frame": index,
                "start_ms": timestamp_ms,
                "end_ms": timestamp_ms,
            }
        self._shot["end_frame"], self._shot["end_ms"] = index, timestamp_ms
        labels: set[str] = set()
        tracks: set[int] = set()
        for detection in detections:
            label, confidence = detection.label, detection.confidence
            totals = self._labels.setdefault(label, _LabelTotals())
            totals.max_confidence = max(totals.max_confidence, confidence)
            if label not in labels:
                labels.add(label)
                totals.frames += 1
            track_id = detection.track_id
            if track_id is None:
                continue
            track = self._tracks.get(track_id)
            if track is None:
                track = self._tracks[track_id] = TrackTotals(track_id, label, index, timestamp_ms)
                totals.tracks += 1
            if track_id not in tracks:
                tracks.add(track_id)
                track.frames += 1
                track.last_frame, track.end_ms = index, timestamp_ms
            if confidence > track.max_confidence:
                track.max_confidence = confidence
                track.best_frame, track.best_bbox = index, list(detection.bbox)
                track.text = detection.text
        self._pending = (timestamp_ms, labels, tracks)

    def _settle(self, until_ms: int) -> None:
        if self._pending is None:
            return
        started, labels, tracks = self._pending
        cover = max(until_ms - started, 0)
        self._last_step_ms = cover
        for label in labels:
            self._labels[label].screen_time_ms += cover
        for track_id in tracks:
            track = self._tracks[track_id]
            track.covered_until_ms = started + cover
            track.screen_time_ms += cover
        self._pending = None

    def finish(self, default_step_ms: int = 0) -> None:
        """Settle the last frame (it covers as long as the frame before it) and hand
        over the last shot and the tracks still open."""
        if self._pending is not None:
            self._settle(self._pending[0] + (self._last_step_ms or default_step_ms))
        if self._shot is not None:
            self._on_shot(self._shot)
            self._shot = None
        for track_id in sorted(self._tracks):
            self._on_track(self._tracks.pop(track_id))

    def labels(self, individuals: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Per label; `individuals` (label -> distinct individuals, from the settled
        track table) defaults to the label's tracks, each its own individual."""
        individuals = individuals or {}
        ordered = sorted(self._labels.items(), key=lambda kv: (-kv[1].screen_time_ms, kv[0]))
        return [
            {
                "label": label,
                "tracks": totals.tracks,
                "individuals": individuals.get(label, totals.tracks),
                "frames": totals.frames,
                "screen_time_ms": totals.screen_time_ms,
                "max_confidence": totals.max_confidence,
            }
            for label, totals in ordered
        ]


class BlackSegments:
    """Runs of at least `min_frames` consecutive analysed frames that are black or
    nearly uniform (contract "Text, keyframes, black frames"): a run keeps two numbers
    while open, and each finished one is a short dict (editors look for a few breaks,
    not thousands). A run still open when the video ends is closed at its last frame."""

    def __init__(self, min_frames: int = 2) -> None:
        self.min_frames = max(int(min_frames), 1)
        self.segments: list[dict[str, int]] = []
        self._run: dict[str, int] | None = None
        self._frames = 0

    def add(self, index: int, timestamp_ms: int, blank: bool) -> None:
        if not blank:
            self._close()
            return
        if self._run is None:
            self._run = {"start_ms": timestamp_ms, "start_frame": index}
            self._frames = 0
        self._run["end_ms"], self._run["end_frame"] = timestamp_ms, index
        self._frames += 1

    def _close(self) -> None:
        run, self._run = self._run, None
        if run is not None and self._frames >= self.min_frames:
            self.segments.append(
                {k: run[k] for k in ("start_ms", "end_ms", "start_frame", "end_frame")}
            )

    def finish(self) -> list[dict[str, int]]:
        self._close()
        return self.segments
