"""The zone events of a job's frames, for a sink: each sink that shows events (the
summary, events.csv, the annotated video) keeps its own counter, so none depends on
another's order; counting costs a few microseconds per track per frame."""

from __future__ import annotations

import logging

from app.adapters.media.inspector import Mp4Inspector
from app.domain.frames import Frame
from app.domain.model import Job, input_key
from app.domain.ports import StorageService
from app.domain.zone_events import ZoneCounter, ZoneEvent, ZoneRules
from app.domain.zones import ZoneSpec

log = logging.getLogger(__name__)


def header_size(storage: StorageService, job: Job) -> tuple[int, int] | None:
    """The upload's frame size from its header (what submit checked the points against),
    for sinks fed frames without their image (after the last frame)."""
    try:
        header = Mp4Inspector().inspect(storage.local_path(input_key(job.source_id)))
    except Exception:  # no readable upload: the frames' own size is used
        log.debug("job %s: no header size for its zones", job.job_id)
        return None
    return (header.width, header.height) if header.width and header.height else None


class ZoneFeed:
    """A counter made at the first frame, sized by the frame's image (for fractions and
    the hysteresis band), else by the upload's header size."""

    def __init__(
        self, spec: ZoneSpec, rules: ZoneRules, size: tuple[int, int] | None = None
    ) -> None:
        self.spec, self.rules, self.size = spec, rules, size
        self.counter: ZoneCounter | None = None

    def events(self, frame: Frame) -> list[ZoneEvent]:
        if self.counter is None:
            shape = getattr(frame.image, "shape", None)
            width, height = (shape[1], shape[0]) if shape is not None else self.size or (1, 1)
            self.counter = ZoneCounter(self.spec, width, height, self.rules)
        return self.counter.update(
            frame.index, frame.timestamp_ms, frame.detections or (), frame.ended_tracks
        )

    def finish(self) -> list[ZoneEvent]:
        return self.counter.finish() if self.counter is not None else []
