"""`<job_id>_detections.csv`: one row per detection, for spreadsheets and pandas.

Header (contract "Exports"): frame_index,timestamp_ms,label,track_id,x,y,w,h,
confidence,text. Rows are written as frames finish (flat memory); empty cells where a
detection has no track id or no text. Text cells (label, text) are quoted and made safe
for spreadsheets and terminals (csv_cells.py); numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from typing import Any

from app.adapters.exports.base import ExportSink
from app.adapters.exports.csv_cells import text_cell
from app.domain.detections import Detection
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.ports import StorageService

HEADER = (
    "frame_index",
    "timestamp_ms",
    "label",
    "track_id",
    "x",
    "y",
    "w",
    "h",
    "confidence",
    "text",
)


class DetectionsCsvSink(ExportSink):
    writes = ("detections.csv",)
    after_tracks = True  # rows for confirmed tracks only, each with its life-long label

    def __init__(self, storage: StorageService, job_id: uuid.UUID) -> None:
        self._file = storage.open_write(EXPORT_BY_NAME["detections.csv"].key(job_id))
        self._buffer = io.StringIO()
        csv.writer(self._buffer).writerow(HEADER)
        # Every string is quoted, so a neutralised cell is quoted as OWASP asks.
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_NONNUMERIC)
        self._flush()

    def _flush(self) -> None:
        self._file.write(self._buffer.getvalue().encode())
        self._buffer.seek(0)
        self._buffer.truncate()

    def add(self, frame: Frame) -> None:
        detections = frame.detections
        if not detections:
            return
        for detection in detections:
            self._writer.writerow(row(frame.index, frame.timestamp_ms, detection))
        self._flush()

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        self._file.commit()

    def abort(self) -> None:
        self._file.discard()


def row(index: int, timestamp_ms: int, detection: Detection) -> list[Any]:
    x, y, w, h = detection.bbox
    return [
        index,
        timestamp_ms,
        text_cell(detection.label),
        "" if detection.track_id is None else detection.track_id,
        x,
        y,
        w,
        h,
        detection.confidence,
        text_cell("" if detection.text is None else detection.text),
    ]
