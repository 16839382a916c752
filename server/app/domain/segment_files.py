"""Reading one segment's stored results without loading them: lines, ends, windows.

A segment job wrote its results exactly as an unsplit job does (results_writer.py): a
`.jsonl` of one item per analysed frame, in frame order, and a `.idx` of each line's
byte offset. The merge reads them through this class: whole files only line by line,
and the few frames of a seam's overlap by seeking through the index (a bisection on
frame numbers), so nothing here grows with the video's length.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from app.domain.errors import VideoJobsError
from app.domain.model import results_index_key, results_key, results_lines_key, summary_key
from app.domain.ports import StorageService
from app.domain.results_writer import OFFSET

_HEAD_CHUNK = 1 << 16
_RESULTS_MARK = b',"results":['


class SegmentFiles:
    """One completed segment's results, read lazily."""

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self.storage, self.job_id = storage, job_id
        for key in (results_lines_key(job_id), results_index_key(job_id)):
            if not storage.exists(key):
                raise VideoJobsError(f"segment {job_id} has no results ({key} is missing)")
        with storage.open_file(results_index_key(job_id)) as index:
            index.seek(0, 2)
            self.count = index.tell() // OFFSET.size

    def _item_at(self, position: int) -> dict[str, Any]:
        with self.storage.open_file(results_index_key(self.job_id)) as index:
            index.seek(position * OFFSET.size)
            (offset,) = OFFSET.unpack(index.read(OFFSET.size))
        with self.storage.open_file(results_lines_key(self.job_id)) as lines:
            lines.seek(offset)
            return json.loads(lines.readline())

    def first_index(self) -> int | None:
        return self._item_at(0)["frame_index"] if self.count else None

    def last_index(self) -> int | None:
        return self._item_at(self.count - 1)["frame_index"] if self.count else None

    def position_of(self, frame_index: int) -> int:
        """The position of the first item whose frame is at or after `frame_index`."""
        low, high = 0, self.count
        while low < high:
            middle = (low + high) // 2
            if self._item_at(middle)["frame_index"] < frame_index:
                low = middle + 1
            else:
                high = middle
        return low

    def items(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Items from position `start` up to (not including) `stop`, streamed."""
        stop = self.count if stop is None else min(stop, self.count)
        if start >= stop:
            return
        with self.storage.open_file(results_index_key(self.job_id)) as index:
            index.seek(start * OFFSET.size)
            (offset,) = OFFSET.unpack(index.read(OFFSET.size))
        with self.storage.open_file(results_lines_key(self.job_id)) as lines:
            lines.seek(offset)
            for _ in range(stop - start):
                yield json.loads(lines.readline())

    def window(self, first_frame: int, last_frame: int) -> list[dict[str, Any]]:
        """The items of frames first_frame..last_frame (a seam's overlap: seconds long)."""
        start = self.position_of(first_frame)
        return [
            item
            for item in self.items(start, start + _window_cap(first_frame, last_frame))
            if item["frame_index"] <= last_frame
        ]

    def head(self) -> dict[str, Any]:
        """The results document's `video` and `warnings` (read up to its first item)."""
        data = b""
        with self.storage.open_file(results_key(self.job_id)) as document:
            while _RESULTS_MARK not in data:
                chunk = document.read(_HEAD_CHUNK)
                if not chunk:
                    raise VideoJobsError(f"segment {self.job_id}: results document is cut short")
                data += chunk
        return json.loads(data[: data.index(_RESULTS_MARK)] + b"}")

    def summary_lists(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The segment's summary `shots` and `black_segments` (one segment's summary:
        bounded by the segment's length, not the video's)."""
        key = summary_key(self.job_id)
        if not self.storage.exists(key):
            return [], []
        summary = json.loads(self.storage.load_file(key))
        return list(summary.get("shots") or []), list(summary.get("black_segments") or [])


def _window_cap(first_frame: int, last_frame: int) -> int:
    """At most one item per frame number in the range."""
    return max(last_frame - first_frame + 1, 0)
