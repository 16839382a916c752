"""`<job_id>_quality.csv`: the quality step's per-frame values, for a spreadsheet.

Header: frame_index,timestamp_ms,brightness,contrast,sharpness; one row per analysed
frame that has them. Written as frames finish; a job whose pipeline has no quality step
writes no rows, and then no file (GET quality.csv answers 404 saying so).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.adapters.exports.base import ExportSink
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.ports import StorageService

QUALITY_VALUES = ("brightness", "contrast", "sharpness")
HEADER = ("frame_index", "timestamp_ms", *QUALITY_VALUES)


class QualityCsvSink(ExportSink):
    writes = ("quality.csv",)

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self._file = storage.open_write(EXPORT_BY_NAME["quality.csv"].key(job_id))
        self._file.write((",".join(HEADER) + "\n").encode())
        self._rows = 0

    def add(self, frame: Frame) -> None:
        result = frame.result
        if not any(name in result for name in QUALITY_VALUES):
            return
        values = [_number(result.get(name)) for name in QUALITY_VALUES]
        self._file.write(f"{frame.index},{frame.timestamp_ms},{','.join(values)}\n".encode())
        self._rows += 1

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        if self._rows:
            self._file.commit()
        else:
            self._file.discard()

    def abort(self) -> None:
        self._file.discard()


def _number(value: Any) -> str:
    """Numbers as they are; anything else (a missing value) as an empty cell."""
    return repr(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""
