"""The zone events of a job, counted once and read by every sink that shows them.

One `ZoneFeed` per job (export_sinks makes it) is handed to the summary, events.csv and
the annotated video. All three are fed by the end-of-job pass (`after_tracks`), frame by
frame in the same order, so the first to ask for a frame's events computes them and the
others read the same list; the running totals (`totals`) are one object, so the video's
live counts end where the summary's counts are, and every sink counts confirmed tracks
only, by their life-long labels.

Told the settled track table (`tracks_settled`), the feed also
- ends each track right after its last sighting (a measured box, not one the tracker
  predicted or a step repeated), so a track that ends inside a zone leaves it in time
  order with every other event, not when the tracker gave it up a second later;
- counts tracks of one individual (TrackFacts joins a track found again after the
  tracker gave it up) as one: the later track goes on from the earlier one's sides and
  zones, so a crossing made while it was unseen counts once, and a visit is one visit.
"""

from __future__ import annotations

import heapq
import logging

from app.adapters.media.inspector import Mp4Inspector
from app.domain.frames import Frame
from app.domain.model import Job, input_key
from app.domain.options import AnalysisOptions
from app.domain.ports import StorageService
from app.domain.track_facts import TrackFacts
from app.domain.zone_events import ZoneCounter, ZoneEvent, ZoneRules, ZoneTotals
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
        self, spec: ZoneSpec, rules: ZoneRules | None = None, size: tuple[int, int] | None = None
    ) -> None:
        self.spec, self.rules, self.size = spec, rules or ZoneRules(), size
        self.counter: ZoneCounter | None = None
        self.totals = ZoneTotals(spec)
        self._facts: TrackFacts | None = None
        # (frame of the last sighting, state key) of each individual's last track.
        self._ends: list[tuple[int, int]] = []
        self._individual_of: dict[int, int] = {}
        self._frame_index: int | None = None  # the frame whose events are `_events`
        self._events: list[ZoneEvent] = []
        self._finished: list[ZoneEvent] | None = None

    @classmethod
    def for_job(cls, storage: StorageService, job: Job, rules: ZoneRules) -> ZoneFeed | None:
        spec = AnalysisOptions.from_dict(job.options).zone_spec()
        return None if spec is None else cls(spec, rules, header_size(storage, job))

    def tracks_settled(self, facts: TrackFacts) -> None:
        """Each sink passes this on; the first call counts."""
        if self._facts is not None:
            return
        self._facts = facts
        last: dict[int, tuple[int, int]] = {}  # individual -> (start_ms, its last track)
        for fact in facts.tracks():
            if fact.individual != fact.track_id:
                self._individual_of[fact.track_id] = fact.individual
            latest = last.get(fact.individual)
            if latest is None or (fact.start_ms, fact.track_id) > latest:
                last[fact.individual] = (fact.start_ms, fact.track_id)
        for individual, (_, track_id) in last.items():
            last_track = facts.get(track_id)
            if last_track is not None and last_track.last_hit_frame >= 0:
                self._ends.append((last_track.last_hit_frame, individual))
        heapq.heapify(self._ends)

    def events(self, frame: Frame) -> list[ZoneEvent]:
        """This frame's events (the same list for every sink that asks)."""
        if frame.index == self._frame_index:
            return self._events
        if self.counter is None:
            shape = getattr(frame.image, "shape", None)
            width, height = (shape[1], shape[0]) if shape is not None else self.size or (1, 1)
            self.counter = ZoneCounter(self.spec, width, height, self.rules)
            self.counter.individual_of = self._individual_of
        if self._facts is None:  # no track table: tracks end when the tracker said so
            events = self.counter.update(
                frame.index, frame.timestamp_ms, frame.detections or (), frame.ended_tracks
            )
        else:
            events = self.counter.update(frame.index, frame.timestamp_ms, frame.detections or ())
            while self._ends and self._ends[0][0] <= frame.index:
                self.counter.end(heapq.heappop(self._ends)[1], events)
        self.totals.add(events)
        self._frame_index, self._events = frame.index, events
        return events

    def finish(self) -> list[ZoneEvent]:
        """The job is done: what is still in a zone leaves it (the same list for all)."""
        if self._finished is None:
            self._finished = self.counter.finish() if self.counter is not None else []
            self.totals.add(self._finished)
        return self._finished
