"""The zone events of a job's frames, for a sink: each sink that shows events (the
summary, events.csv, the annotated video) keeps its own counter, so none depends on
another's order; counting costs a few microseconds per track per frame."""

from __future__ import annotations

from app.domain.frames import Frame
from app.domain.zone_events import ZoneCounter, ZoneEvent, ZoneRules
from app.domain.zones import ZoneSpec


class ZoneFeed:
    """A counter made at the first frame, when the frame's size (for fractions and the
    hysteresis band) is known."""

    def __init__(self, spec: ZoneSpec, rules: ZoneRules) -> None:
        self.spec, self.rules = spec, rules
        self.counter: ZoneCounter | None = None

    def events(self, frame: Frame) -> list[ZoneEvent]:
        if self.counter is None:
            shape = getattr(frame.image, "shape", None)
            height, width = (shape[0], shape[1]) if shape is not None else (1, 1)
            self.counter = ZoneCounter(self.spec, width, height, self.rules)
        return self.counter.update(
            frame.index, frame.timestamp_ms, frame.detections or (), frame.ended_tracks
        )

    def finish(self) -> list[ZoneEvent]:
        return self.counter.finish() if self.counter is not None else []
