"""`<job_id>_summary.json` and `<job_id>_tracks.vtt`, written as the job goes.

The summary's content comes from `domain/summary.SummaryBuilder`; this sink decides how
it reaches the disk: each finished track straight to both files, shots to a spool, the
labels and the video at close, nothing visible under either key before then.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Sequence
from typing import Any

from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame, FrameSink
from app.domain.model import summary_key
from app.domain.ports import StorageService
from app.domain.summary import SummaryBuilder, TrackTotals


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(max(int(ms), 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_cue(track: TrackTotals) -> str:
    """One WebVTT cue, "<label> #<track_id>", from the track's first frame to the end
    of its last."""
    end = max(track.covered_until_ms, track.end_ms, track.start_ms + 1)
    return (
        f"{track.track_id}\n{_vtt_time(track.start_ms)} --> {_vtt_time(end)}\n"
        f"{_vtt_text(f'{track.label} #{track.track_id}')}\n\n"
    )


class SummarySink(FrameSink):
    writes = ("tracks.vtt",)  # and the summary, which is not a download
    """Writes `<job_id>_summary.json` and `<job_id>_tracks.vtt` as the job goes.

    Each track is written when it ends (to both files) and each shot to a spool when it
    ends, so their number costs no memory; labels and the video come at close, and
    nothing is visible under either key before then. Tracks appear in the order they
    ended (players sort WebVTT cues by time; sort the summary's by `track_id`)."""

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self.storage = storage
        self.job_id = job_id
        self._summary = storage.open_write(summary_key(job_id))
        self._vtt = storage.open_write(EXPORT_BY_NAME["tracks.vtt"].key(job_id))
        self._shots = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close or abort
        self._summary.write(b'{"job_id":' + _dumps(str(job_id)) + b',"tracks":[')
        self._vtt.write(b"WEBVTT\n\n")
        self._counts = {"shots": 0, "tracks": 0}
        self.builder = SummaryBuilder(self._write_shot, self._write_track)

    def _write_shot(self, shot: dict[str, int]) -> None:
        self._shots.write((b"," if self._counts["shots"] else b"") + _dumps(shot))
        self._counts["shots"] += 1

    def _write_track(self, track: TrackTotals) -> None:
        self._summary.write((b"," if self._counts["tracks"] else b"") + _dumps(track.to_dict()))
        self._vtt.write(vtt_cue(track).encode())
        self._counts["tracks"] += 1

    def add(self, frame: Frame) -> None:
        self.builder.add(
            frame.index, frame.timestamp_ms, frame.detections or (), frame.shot, frame.ended_tracks
        )

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        fps = video.get("fps") or 0
        self.builder.finish(round(1000 / fps) if fps else 0)
        self._summary.write(b'],"shots":[')
        self._shots.seek(0)
        while chunk := self._shots.read(1 << 20):
            self._summary.write(chunk)
        self._shots.close()
        self._summary.write(b'],"video":' + _dumps(video))
        self._summary.write(b',"warnings":' + _dumps(list(warnings)))
        self._summary.write(b',"labels":' + _dumps(self.builder.labels()) + b"}")
        self._vtt.commit()
        self._summary.commit()

    def abort(self) -> None:
        self._shots.close()
        self._summary.discard()
        self._vtt.discard()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
