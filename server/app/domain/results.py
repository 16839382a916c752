"""Results documents: read whole or a page at a time (the worker writes them with
`results_writer.ResultsWriter`).

Beside the contract's `<job_id>_results.json` the worker writes a line-per-frame
`.jsonl` and an index of each line's byte offset (`.idx`, little-endian uint64), so a
page of a 100k-frame result is a seek and a few lines, not a parse of the whole file.
Each frame is serialised once and the bytes reused for both files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.model import Job, results_index_key, results_key, results_lines_key
from app.domain.ports import StorageService
from app.domain.results_writer import OFFSET as _OFFSET
from app.domain.results_writer import write_results


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


def read_page(storage: StorageService, job: Job, query: ResultsQuery) -> tuple[list, int | None]:
    """Frames of one page and the offset of the next one (None at the end)."""
    _ensure_sidecars(storage, job)
    index = storage.load_file(results_index_key(job.job_id))
    frame_count = len(index) // _OFFSET.size
    last = frame_count - 1 if query.to_frame is None else min(query.to_frame, frame_count - 1)
    position = query.from_frame + query.offset
    items: list[dict] = []
    if position > last:
        return items, None
    (start,) = _OFFSET.unpack_from(index, position * _OFFSET.size)
    with storage.open_file(results_lines_key(job.job_id)) as lines:
        lines.seek(start)
        while position <= last and len(items) < query.limit:
            item = query.filtered(json.loads(lines.readline()))
            position += 1
            if item is not None:
                items.append(item)
    next_offset = position - query.from_frame if position <= last else None
    return items, next_offset


def _ensure_sidecars(storage: StorageService, job: Job) -> None:
    """Results written before sidecars existed get them on first paged read (once)."""
    if storage.exists(results_index_key(job.job_id)):
        return
    document = json.loads(storage.load_file(results_key(job.job_id)))
    write_results(storage, job, document["video"], document["results"])
