"""One page of a results document, read from the `.jsonl` and its `.idx`.

A page is bounded three ways: `limit` items, `max_bytes` of item text
(VIDEO_JOBS_RESULTS_PAGE_BYTES) and `max_scan` frames examined
(VIDEO_JOBS_RESULTS_SCAN_FRAMES); `next_offset` says where the next page starts. Without
a detection filter, the page is a byte range of the `.jsonl` copied to the client in
chunks (newlines become commas), never parsed: a page of 35 MB of boxes costs the API a
chunk, not a few hundred MB of Python objects. A filter has to look inside each frame,
so it parses one line at a time and keeps only the encoded matches, at most `max_bytes`.
"""

from __future__ import annotations

import json
import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.domain.model import Job, results_index_key, results_lines_key
from app.domain.ports import StorageService
from app.domain.results import ensure_sidecars, open_results_file
from app.domain.results_writer import OFFSET, dumps

COPY_CHUNK = 1 << 18


@dataclass(frozen=True)
class ResultsQuery:
    """A page of frames in [from_frame, to_frame], skipping `offset` frames of that range.

    `label` and `min_confidence` keep the detections that match and the frames that have
    at least one; `next_offset` continues the scan where this page stopped.
    """

    offset: int = 0
    limit: int = 100
    label: str | None = None
    min_confidence: float | None = None
    from_frame: int = 0
    to_frame: int | None = None
    max_scan: int = 10_000  # frames examined per request (VIDEO_JOBS_RESULTS_SCAN_FRAMES)
    max_bytes: int = 4 << 20  # item text per page (VIDEO_JOBS_RESULTS_PAGE_BYTES)

    @property
    def filters_detections(self) -> bool:
        return self.label is not None or self.min_confidence is not None

    def filtered(self, item: dict) -> dict | None:
        if not self.filters_detections:
            return item
        kept = [
            d
            for d in item["result"].get("detections", [])
            if (self.label is None or d.get("label") == self.label)
            and (self.min_confidence is None or d.get("confidence", 0.0) >= self.min_confidence)
        ]
        if not kept:
            return None
        return {**item, "result": {**item["result"], "detections": kept}}


@dataclass
class ResultsPage:
    """The page's items as JSON text separated by commas (no brackets): `length` bytes
    in `chunks`, to be sent as they come. `next_offset` is None after the last page."""

    chunks: Iterator[bytes]
    length: int
    next_offset: int | None


@dataclass(frozen=True)
class _Span:
    """Lines `first`.. of the `.jsonl` a page may use: `starts[i]` is where line
    `first + i` begins, and the last entry where the line after the span begins."""

    first: int
    last: int  # the last position the query's range allows
    starts: tuple[int, ...]


def read_page(storage: StorageService, job: Job, query: ResultsQuery) -> ResultsPage:
    """One page of a completed job's results (JobFilesGone when its files are missing)."""
    ensure_sidecars(storage, job)
    lines = open_results_file(storage, job, results_lines_key(job.job_id))
    try:
        with open_results_file(storage, job, results_index_key(job.job_id)) as index:
            span = _span(index, lines, query)
        if span is None:
            lines.close()
            return ResultsPage(iter(()), 0, None)
        if query.filters_detections:
            with lines:
                return _filtered_page(lines, span, query)
        return _copied_page(lines, span, query)
    except BaseException:
        lines.close()
        raise


def _span(index: BinaryIO, lines: BinaryIO, query: ResultsQuery) -> _Span | None:
    frame_count = index.seek(0, 2) // OFFSET.size
    last = frame_count - 1 if query.to_frame is None else min(query.to_frame, frame_count - 1)
    first = query.from_frame + query.offset
    if first > last:
        return None
    examined = min(last + 1 - first, query.max_scan)
    if not query.filters_detections:
        examined = min(examined, query.limit)
    index.seek(first * OFFSET.size)
    wanted = examined + 1 if first + examined < frame_count else examined
    data = index.read(wanted * OFFSET.size)
    starts = struct.unpack(f"<{len(data) // OFFSET.size}Q", data)
    if len(starts) == examined:  # the span reaches the end of the file
        starts += (lines.seek(0, 2),)
    return _Span(first, last, starts)


def _next_offset(position: int, span: _Span, query: ResultsQuery) -> int | None:
    return position - query.from_frame if position <= span.last else None


def _copied_page(lines: BinaryIO, span: _Span, query: ResultsQuery) -> ResultsPage:
    """As many whole lines as fit in `max_bytes` (at least one), copied as they are."""
    starts = span.starts
    count = max(1, bisect_right(starts, starts[0] + query.max_bytes) - 1)
    start, stop = starts[0], starts[count]
    length = stop - start - 1  # the last line's newline is not sent
    return ResultsPage(
        _copied(lines, start, length), length, _next_offset(span.first + count, span, query)
    )


def _copied(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes from `start`, each newline (the end of an item) made a comma."""
    with handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(COPY_CHUNK, remaining))
            if not chunk:
                raise OSError(f"{handle.name} ended {remaining} bytes early")
            remaining -= len(chunk)
            yield chunk.replace(b"\n", b",")


def _filtered_page(lines: BinaryIO, span: _Span, query: ResultsQuery) -> ResultsPage:
    """The matching part of each examined frame, until `limit` items or `max_bytes`."""
    lines.seek(span.starts[0])
    kept: list[bytes] = []
    size = 0
    position = span.first
    for _ in range(len(span.starts) - 1):
        item = query.filtered(json.loads(lines.readline()))
        if item is not None:
            encoded = dumps(item)
            if kept and size + 1 + len(encoded) > query.max_bytes:
                break  # this frame starts the next page
            size += len(encoded) + (1 if kept else 0)
            kept.append(encoded)
        position += 1
        if len(kept) == query.limit:
            break
    return ResultsPage(iter([b",".join(kept)]), size, _next_offset(position, span, query))
