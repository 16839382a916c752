"""`<job_id>_events.csv`: every line crossing, zone entry and zone exit of a job with
`zones`, one row each, written as frames finish.

Header: timestamp_ms,frame_index,kind,name,label,track_id,direction,dwell_ms. Rows come
in time order: the job's zone feed (zone_feed.py, shared with the summary and the
annotated video) ends a track right after its last sighting, so the exit of a track
that ends inside a zone is written at its own time, never after later rows; nothing is
buffered. Zone and line names are the client's text: cells go through `csv_cells`.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from app.adapters.exports.base import ExportSink
from app.adapters.exports.csv_cells import text_cell
from app.adapters.exports.zone_feed import ZoneFeed, header_size
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.model import Job
from app.domain.options import AnalysisOptions
from app.domain.ports import StorageService
from app.domain.track_facts import TrackFacts
from app.domain.zone_events import ZoneEvent
from app.domain.zones import ZoneSpec

HEADER = (
    "timestamp_ms",
    "frame_index",
    "kind",
    "name",
    "label",
    "track_id",
    "direction",
    "dwell_ms",
)


class EventsCsvSink(ExportSink):
    writes = ("events.csv",)
    # Where the frame loop has an end-of-job pass over settled tracks, fed by it like the
    # summary, so both count the same tracks (the header gives the frame size there).
    after_tracks = True

    def __init__(
        self,
        storage: StorageService,
        job_id: uuid.UUID,
        spec: ZoneSpec,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        self._frame_size = frame_size
        self._file = storage.open_write(EXPORT_BY_NAME["events.csv"].key(job_id))
        self._file.write((",".join(HEADER) + "\n").encode())
        self.spec = spec

    @classmethod
    def for_job(cls, storage: StorageService, job: Job) -> EventsCsvSink:
        spec = AnalysisOptions.from_dict(job.options).zone_spec() or ZoneSpec()
        return cls(storage, job.job_id, spec, header_size(storage, job))

    def _feed(self) -> ZoneFeed:
        if self.zone_feed is None:
            self.zone_feed = ZoneFeed(self.spec, self.zone_rules, self._frame_size)
        return self.zone_feed

    def tracks_settled(self, facts: TrackFacts) -> None:
        self._feed().tracks_settled(facts)

    def add(self, frame: Frame) -> None:
        self._write(self._feed().events(frame))

    def _write(self, events: Iterable[ZoneEvent]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for e in events:
            dwell = "" if e.dwell_ms is None else e.dwell_ms
            writer.writerow(
                [
                    e.timestamp_ms,
                    e.frame_index,
                    e.kind,
                    text_cell(e.name),
                    text_cell(e.label),
                    e.track_id,
                    e.direction,
                    dwell,
                ]
            )
        if buffer.tell():
            self._file.write(buffer.getvalue().encode())

    def close(self, video: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        self._write(self._feed().finish())
        self._file.commit()

    def abort(self) -> None:
        self._file.discard()
