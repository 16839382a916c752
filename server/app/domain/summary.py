"""What is in the video, when, for how long: the job summary and its WebVTT twin.

Built one frame at a time with small state per label and per track (never a per-frame
list), so memory does not grow with the video's length. Written by the worker when the
job completes (contract "Tracks, shots and summaries"); the API only reads the file.

Time covered by a frame: from its timestamp to the next analysed frame's (so with
`sample_fps=1` each analysed frame stands for one second); the last frame covers as
long as the one before it. A label's `screen_time_ms` sums its frames' cover.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.frames import Frame, FrameSink
from app.domain.model import summary_key, tracks_vtt_key
from app.domain.ports import StorageService


@dataclass
class _LabelTotals:
    frames: int = 0
    screen_time_ms: int = 0
    max_confidence: float = 0.0
    tracks: set[int] = field(default_factory=set)


@dataclass
class _TrackTotals:
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
    """Accumulates labels and tracks; `document()` gives the summary's parts."""

    def __init__(self, on_shot: Callable[[dict[str, int]], None] | None = None) -> None:
        # Finished shots go to `on_shot` (the sink writes them out): a video that cuts
        # every few frames must not grow the worker's memory with its shots.
        self._on_shot = on_shot or (lambda _shot: None)
        self._shot: dict[str, int] | None = None
        self._labels: dict[str, _LabelTotals] = {}
        self._tracks: dict[int, _TrackTotals] = {}
        # The previous frame's labels and tracks wait for the next timestamp to know
        # how long that frame covers.
        self._pending: tuple[int, set[str], set[int]] | None = None
        self._last_step_ms = 0

    def add(self, index: int, timestamp_ms: int, result: dict[str, Any], shot: int = 0) -> None:
        self._settle(timestamp_ms)
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
        for detection in result.get("detections") or ():
            label, confidence = detection["label"], float(detection.get("confidence", 1.0))
            totals = self._labels.setdefault(label, _LabelTotals())
            totals.max_confidence = max(totals.max_confidence, confidence)
            if label not in labels:
                labels.add(label)
                totals.frames += 1
            track_id = detection.get("track_id")
            if track_id is None:
                continue
            totals.tracks.add(track_id)
            track = self._tracks.get(track_id)
            if track is None:
                track = self._tracks[track_id] = _TrackTotals(track_id, label, index, timestamp_ms)
            if track_id not in tracks:
                tracks.add(track_id)
                track.frames += 1
                track.last_frame, track.end_ms = index, timestamp_ms
            if confidence > track.max_confidence:
                track.max_confidence = confidence
                track.best_frame, track.best_bbox = index, list(detection["bbox"])
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
            self._tracks[track_id].covered_until_ms = started + cover
        self._pending = None

    def finish(self, default_step_ms: int = 0) -> None:
        """Settle the last frame (it covers as long as the frame before it) and hand
        over the last shot."""
        if self._pending is not None:
            self._settle(self._pending[0] + (self._last_step_ms or default_step_ms))
        if self._shot is not None:
            self._on_shot(self._shot)
            self._shot = None

    def labels(self) -> list[dict[str, Any]]:
        ordered = sorted(self._labels.items(), key=lambda kv: (-kv[1].screen_time_ms, kv[0]))
        return [
            {
                "label": label,
                "tracks": len(totals.tracks),
                "frames": totals.frames,
                "screen_time_ms": totals.screen_time_ms,
                "max_confidence": totals.max_confidence,
            }
            for label, totals in ordered
        ]

    def tracks(self) -> list[_TrackTotals]:
        return [self._tracks[key] for key in sorted(self._tracks)]


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(max(int(ms), 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tracks_vtt(tracks: list[_TrackTotals]) -> str:
    """WebVTT with one cue per track, "<label> #<track_id>", in order of start time."""
    lines = ["WEBVTT", ""]
    for track in sorted(tracks, key=lambda t: (t.start_ms, t.track_id)):
        end = max(track.covered_until_ms, track.end_ms, track.start_ms + 1)
        lines += [
            str(track.track_id),
            f"{_vtt_time(track.start_ms)} --> {_vtt_time(end)}",
            _vtt_text(f"{track.label} #{track.track_id}"),
            "",
        ]
    return "\n".join(lines)


class SummarySink(FrameSink):
    """Writes `<job_id>_summary.json` and `<job_id>_tracks.vtt`.

    The summary's shots are written as each one ends (straight into the summary's
    temporary file, so their number costs no memory); the rest when the job completes.
    Nothing is visible under the summary's key before then."""

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self.storage = storage
        self.job_id = job_id
        self._file = storage.open_write(summary_key(job_id))
        self._file.write(b'{"job_id":' + _dumps(str(job_id)) + b',"shots":[')
        self._shots = 0
        self.builder = SummaryBuilder(self._write_shot)

    def _write_shot(self, shot: dict[str, int]) -> None:
        self._file.write((b"," if self._shots else b"") + _dumps(shot))
        self._shots += 1

    def add(self, frame: Frame) -> None:
        self.builder.add(frame.index, frame.timestamp_ms, frame.result, frame.shot)

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        fps = video.get("fps") or 0
        self.builder.finish(round(1000 / fps) if fps else 0)
        tracks = self.builder.tracks()
        self._file.write(b'],"video":' + _dumps(video))
        self._file.write(b',"warnings":' + _dumps(list(warnings)))
        self._file.write(b',"labels":' + _dumps(self.builder.labels()) + b',"tracks":[')
        for number, track in enumerate(tracks):
            self._file.write((b"," if number else b"") + _dumps(track.to_dict()))
        self._file.write(b"]}")
        self.storage.save_file(tracks_vtt_key(self.job_id), [tracks_vtt(tracks).encode()])
        self._file.commit()

    def abort(self) -> None:
        self._file.discard()
        self.storage.delete_file(tracks_vtt_key(self.job_id))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
