"""Results documents: read whole, or one frame (the worker writes them with
`results_writer.ResultsWriter`; pages are read by `results_pages`).

Beside the contract's `<job_id>_results.json` the worker writes a line-per-frame
`.jsonl` and an index of each line's byte offset (`.idx`, little-endian uint64), so a
page of a 100k-frame result is a seek and a few lines, not a parse of the whole file.
Each frame is serialised once and the bytes reused for both files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from app.domain.errors import JobFilesGone
from app.domain.model import Job, results_index_key, results_key, results_lines_key
from app.domain.ports import StorageService
from app.domain.results_writer import OFFSET as _OFFSET
from app.domain.results_writer import write_results

MAX_HEAD_BYTES = 1 << 20  # the head holds "video" and "warnings": small
_RESULTS_MARK = b',"results":['


def open_results_file(storage: StorageService, job: Job, key: str) -> BinaryIO:
    """A results file, or JobFilesGone (410, JSON) when it is missing on disk."""
    try:
        return storage.open_file(key)
    except FileNotFoundError as exc:
        raise JobFilesGone(
            f"the results of job {job.job_id} are missing from storage ({key}); "
            "submit the video again"
        ) from exc


def find_frame(storage: StorageService, job: Job, frame_index: int) -> dict | None:
    """The results item of video frame `frame_index`, or None when that frame was not
    analysed (sampling, a time range). Items are in frame order, so this is a binary
    search over the index: about log2(frames) line reads, whatever the document's size."""
    ensure_sidecars(storage, job)
    with (
        opened(storage, job, results_index_key(job.job_id)) as index,
        opened(storage, job, results_lines_key(job.job_id)) as lines,
    ):

        def item_at(position: int) -> dict:
            index.seek(position * _OFFSET.size)
            (start,) = _OFFSET.unpack(index.read(_OFFSET.size))
            lines.seek(start)
            return json.loads(lines.readline())

        low, high = 0, index.seek(0, 2) // _OFFSET.size
        while low < high:
            middle = (low + high) // 2
            item = item_at(middle)
            if item["frame_index"] == frame_index:
                return item
            if item["frame_index"] < frame_index:
                low = middle + 1
            else:
                high = middle
    return None


@contextmanager
def opened(storage: StorageService, job: Job, key: str) -> Iterator[BinaryIO]:
    with open_results_file(storage, job, key) as handle:
        yield handle


@dataclass
class StoredDocument:
    """The results document as the API sends it: a rewritten head (the stored keys plus
    the job row's), then the stored items copied from disk, never parsed."""

    head: bytes
    chunks: Iterator[bytes]
    length: int


def _read_head(handle: BinaryIO, job: Job) -> tuple[dict[str, Any], int]:
    """The stored keys before "results" (parsed) and the byte offset of the first item."""
    start = handle.read(1 << 16)  # the head is small: one read, rarely a second
    if _RESULTS_MARK not in start and len(start) == 1 << 16:
        start += handle.read(MAX_HEAD_BYTES - len(start))
    mark = start.find(_RESULTS_MARK)
    if mark < 0 or not start.startswith(b"{"):
        raise ValueError(f"the results document of job {job.job_id} has no results list")
    offset = mark + len(_RESULTS_MARK)
    head = json.loads(start[:offset] + b"]}")
    head.pop("results", None)
    return head, offset


def stored_head(storage: StorageService, job: Job) -> dict[str, Any]:
    """The document's keys other than "results" ("video", "warnings", ...)."""
    with opened(storage, job, results_key(job.job_id)) as handle:
        return _read_head(handle, job)[0]


def stored_document(
    storage: StorageService, job: Job, extra: dict[str, Any], chunk_size: int = 1 << 18
) -> StoredDocument:
    """Open the stored document for sending; only its head (before "results") is parsed.

    The writer puts "results" last (results_writer.document_head), so the bytes after
    `"results":[` are the items and the closing `]}`, sent as they are. `extra` (the
    job row's fields) fills keys the document lacks; the row's timestamps always win."""
    handle = open_results_file(storage, job, results_key(job.job_id))
    try:
        stored, offset = _read_head(handle, job)
        size = handle.seek(0, 2)
    except BaseException:
        handle.close()
        raise
    head = {**extra, **stored}
    head.update(created_at=extra["created_at"], updated_at=extra["updated_at"])
    encoded = json.dumps(head, separators=(",", ":")).encode()[:-1] + _RESULTS_MARK

    def chunks() -> Iterator[bytes]:
        with handle:
            handle.seek(offset)
            while chunk := handle.read(chunk_size):
                yield chunk

    return StoredDocument(encoded, chunks(), len(encoded) + size - offset)


def ensure_sidecars(storage: StorageService, job: Job) -> None:
    """Results written before sidecars existed get them on first paged read (once)."""
    if storage.exists(results_index_key(job.job_id)):
        return
    with opened(storage, job, results_key(job.job_id)) as handle:
        document = json.loads(handle.read())
    write_results(storage, job, document["video"], document["results"])
