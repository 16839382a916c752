"""The write side of results: a sink that streams each frame's result to disk.

The worker never holds the results in memory. Each frame is serialised once, appended
to `<job_id>_results.jsonl` and its byte offset to `<job_id>_results.idx` (little-endian
uint64). At close, the contract's `<job_id>_results.json` is assembled by copying the
.jsonl in chunks (newlines become commas). Every file is written to a temporary name and
renamed into place; `abort` (a failure, a stop, a full disk) removes all of them.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from typing import Any

from app.domain.frames import Frame, FrameSink
from app.domain.model import Job, results_index_key, results_key, results_lines_key
from app.domain.ports import FileWrite, StorageService

OFFSET = struct.Struct("<Q")
_COPY_CHUNK = 1 << 20
_INDEX_BATCH = 4096


def _to_plain(value: Any) -> Any:
    """Safety net for numpy scalars and arrays; steps are tested to emit plain types."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_to_plain, separators=(",", ":")).encode()


def document_head(job: Job, video: dict, warnings: Sequence[str] = ()) -> bytes:
    """Everything of the document before the first result item."""
    head = {
        "job_id": str(job.job_id),
        "pipeline_id": job.pipeline_id,
        "video": video,
        "warnings": list(warnings),
    }
    return dumps(head)[:-1] + b',"results":['


def encode_results(
    job: Job, video: dict, results: list[dict], warnings: Sequence[str] = ()
) -> bytes:
    """The contract's results document as bytes (small documents and tests)."""
    lines = [dumps(item) for item in results]
    return document_head(job, video, warnings) + b",".join(lines) + b"]}"


class ResultsWriter(FrameSink):
    """Streams `.jsonl` and `.idx` as frames arrive; the document at close."""

    def __init__(self, storage: StorageService, job: Job) -> None:
        self.storage = storage
        self.job = job
        self.frames = 0
        self.output_path: str | None = None  # the document's DB path, once closed
        self._writes: list[FileWrite] = []
        self._lines = self._open(results_lines_key(job.job_id))
        self._index = self._open(results_index_key(job.job_id))
        self._offsets = bytearray()
        self._position = 0

    def _open(self, key: str) -> FileWrite:
        write = self.storage.open_write(key)
        self._writes.append(write)
        return write

    def add(self, frame: Frame) -> None:
        self.add_item(frame.item())

    def add_item(self, item: dict[str, Any]) -> None:
        """One results item, as the document will hold it."""
        line = dumps(item) + b"\n"
        self._offsets += OFFSET.pack(self._position)
        if len(self._offsets) >= _INDEX_BATCH * OFFSET.size:
            self._index.write(bytes(self._offsets))
            self._offsets.clear()
        self._lines.write(line)
        self._position += len(line)
        self.frames += 1

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        self._index.write(bytes(self._offsets))
        self._offsets.clear()
        self._lines.commit()
        self._index.commit()
        key = results_key(self.job.job_id)
        document = self._open(key)
        document.write(document_head(self.job, video, warnings))
        for chunk in self._items_separated_by_commas():
            document.write(chunk)
        document.write(b"]}")
        document.commit()
        self.output_path = self.storage.relative_path(key)

    def _items_separated_by_commas(self) -> Iterator[bytes]:
        """The .jsonl's bytes with each newline turned into a comma, less the last one
        (JSON text has no raw newlines, so every newline ends an item)."""
        with self.storage.open_file(results_lines_key(self.job.job_id)) as lines:
            held = b""
            while chunk := lines.read(_COPY_CHUNK):
                data = held + chunk.replace(b"\n", b",")
                held = data[-1:]
                yield data[:-1]

    def abort(self) -> None:
        for write in self._writes:
            write.discard()


def write_results(
    storage: StorageService, job: Job, video: dict, results: list[dict], warnings=()
) -> str:
    """Write a whole results list at once (older documents' sidecars); the DB path."""
    writer = ResultsWriter(storage, job)
    try:
        for item in results:
            writer.add_item(item)
        writer.close(video, warnings)
    except BaseException:
        writer.abort()
        raise
    assert writer.output_path is not None
    return writer.output_path


def delete_results(storage: StorageService, job: Job) -> None:
    for key in (results_key, results_lines_key, results_index_key):
        storage.delete_file(key(job.job_id))
