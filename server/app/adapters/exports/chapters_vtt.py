"""`<job_id>_chapters.vtt`: the shots as WebVTT chapters, for a player's chapter menu
(`<track kind="chapters">`) or an editor's scene list.

One cue per shot, `shot-<index>` / "Shot <n>", from its first analysed frame to the
next shot's first (so chapters tile the analysed range without gaps); the last ends
where its last frame's time ends (one frame step after it). Written as shots end: one
shot is held until the next one starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.adapters.exports.base import ExportSink
from app.adapters.exports.summary import vtt_time
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.ports import StorageService


class ChaptersVttSink(ExportSink):
    writes = ("chapters.vtt",)

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self._file = storage.open_write(EXPORT_BY_NAME["chapters.vtt"].key(job_id))
        self._file.write(b"WEBVTT\n\n")
        self._shot: tuple[int, int] | None = None  # (index, start_ms) of the open shot
        self._last_ms: int | None = None
        self._step_ms = 0

    def _write(self, index: int, start_ms: int, end_ms: int) -> None:
        end_ms = max(end_ms, start_ms + 1)
        cue = f"shot-{index}\n{vtt_time(start_ms)} --> {vtt_time(end_ms)}\nShot {index + 1}\n\n"
        self._file.write(cue.encode())

    def add(self, frame: Frame) -> None:
        if self._last_ms is not None:
            self._step_ms = max(frame.timestamp_ms - self._last_ms, 0)
        self._last_ms = frame.timestamp_ms
        if self._shot is not None and self._shot[0] == frame.shot:
            return
        if self._shot is not None:
            self._write(*self._shot, frame.timestamp_ms)
        self._shot = (frame.shot, frame.timestamp_ms)

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        if self._shot is not None and self._last_ms is not None:
            fps = video.get("fps") or 0
            step = self._step_ms or (round(1000 / fps) if fps else 0)
            self._write(*self._shot, self._last_ms + step)
        self._file.commit()

    def abort(self) -> None:
        self._file.discard()
