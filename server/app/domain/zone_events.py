"""Line crossings and zone entries, exits and dwell, one track at a time.

Pure geometry on what the tracker gives (track id, label, box per detection). State is
per track (its side of each line, the zones it is in), dropped when the track ends, so
memory does not grow with the video's length. A track's anchor is the bottom-centre of
its box for labels that stand on the ground (people, vehicles) and the centre otherwise.

Direction (contract): with `s = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)`, a move from
`s < 0` to `s > 0` is "in". Hysteresis: a side is only taken once the anchor is more
than `band` pixels from the line, so a track jittering on it (or turning back on it)
counts nothing; a change of side counts only when the path between the two sightings
meets the line within its extent. Sampled frames (`sample_fps`) are fine: the path is
the straight move between two analysed frames. A zone is entered when the anchor is
inside its polygon and left once it is more than `band` pixels outside; a track that
ends inside a zone leaves it at its last sighting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.domain.detections import Detection
from app.domain.zones import Point, ZoneSpec

BOTTOM_ANCHOR_LABELS = frozenset({"person", "car", "truck", "bus", "motorcycle", "bicycle"})
KINDS = ("line_cross", "zone_enter", "zone_exit")


@dataclass(frozen=True)
class ZoneRules:
    """`band`: the hysteresis, as a share of the frame's height; `bottom_anchor`: the
    labels anchored at the bottom-centre of their box."""

    band: float = 0.015
    bottom_anchor: frozenset[str] = BOTTOM_ANCHOR_LABELS


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    timestamp_ms: int
    frame_index: int
    kind: str  # one of KINDS
    name: str  # the zone's or line's
    label: str
    track_id: int
    direction: str = ""  # "in" / "out" for crossings
    dwell_ms: int | None = None  # on exits


def anchor(detection: Detection, bottom_anchor: frozenset[str]) -> Point:
    x, y, w, h = detection.bbox
    return (x + w / 2, y + h if detection.label in bottom_anchor else y + h / 2)


@dataclass(slots=True)
class _Track:
    label: str
    last_ms: int
    last_frame: int
    # Per line: the side (-1, +1; 0 not yet known) and where the anchor last was on it.
    sides: list[int]
    side_points: list[Point | None]
    # Per zone: (enter_ms) while inside, else None.
    inside: list[int | None] = field(default_factory=list)
    track_id: int = 0  # the track last seen (of the individual, where tracks are joined)


class _LineGeometry:
    __slots__ = ("a", "dx", "dy", "length", "name")

    def __init__(self, name: str, a: Point, b: Point) -> None:
        self.name, self.a = name, a
        self.dx, self.dy = b[0] - a[0], b[1] - a[1]
        self.length = math.hypot(self.dx, self.dy)

    def distance(self, p: Point) -> float:
        """Signed distance to the line (the sign of the contract's s)."""
        return (self.dx * (p[1] - self.a[1]) - self.dy * (p[0] - self.a[0])) / self.length

    def along(self, p: Point) -> float:
        """Where p projects on the segment: 0 at its first point, 1 at its second."""
        return ((p[0] - self.a[0]) * self.dx + (p[1] - self.a[1]) * self.dy) / self.length**2


class _ZoneGeometry:
    __slots__ = ("box", "edges", "name")

    def __init__(self, name: str, polygon: tuple[Point, ...]) -> None:
        self.name = name
        self.edges = list(zip(polygon, polygon[1:] + polygon[:1], strict=True))
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        self.box = (min(xs), min(ys), max(xs), max(ys))

    def contains(self, p: Point) -> bool:
        x, y = p
        x0, y0, x1, y1 = self.box
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        inside = False
        for (ax, ay), (bx, by) in self.edges:
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                inside = not inside
        return inside

    def distance(self, p: Point) -> float:
        """From p to the polygon's outline."""
        best = math.inf
        for (ax, ay), (bx, by) in self.edges:
            dx, dy = bx - ax, by - ay
            t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)))
            best = min(best, math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy))
        return best


class ZoneCounter:
    """Turns each analysed frame's tracked detections into events."""

    def __init__(self, spec: ZoneSpec, width: int, height: int, rules: ZoneRules | None = None):
        rules = rules or ZoneRules()
        spec = spec.in_pixels(width, height)
        self.rules = rules
        self.band = rules.band * height
        self.lines = [_LineGeometry(li.name, *li.points) for li in spec.lines]
        self.zones = [_ZoneGeometry(z.name, z.polygon) for z in spec.zones]
        self._tracks: dict[int, _Track] = {}
        # Track id -> the individual it continues (TrackFacts: joined tracks); a track
        # not named here is its own individual.
        self.individual_of: dict[int, int] = {}

    def update(
        self,
        frame_index: int,
        timestamp_ms: int,
        detections: Iterable[Detection],
        ended_tracks: Iterable[int] = (),
    ) -> list[ZoneEvent]:
        """This frame's events, in time order: first the exits of the tracks that ended
        before it (at their last sighting), then what this frame's sightings did. Boxes
        the tracker only predicted (`tracked`) or a step only repeated (`carried`) are
        not sightings; detections without a track cannot be followed and are skipped."""
        events: list[ZoneEvent] = []
        for track_id in ended_tracks:
            self.end(track_id, events)
        for detection in detections:
            if detection.track_id is None or detection.tracked or detection.carried:
                continue
            self._see(detection, frame_index, timestamp_ms, events)
        return events

    def finish(self) -> list[ZoneEvent]:
        """The job is done: every track still in a zone leaves it at its last sighting."""
        events: list[ZoneEvent] = []
        for key in list(self._tracks):
            self.end(key, events)
        return events

    def _see(self, detection: Detection, frame: int, at_ms: int, events: list[ZoneEvent]) -> None:
        track_id = detection.track_id
        assert track_id is not None
        # One state per individual: a track that continues an earlier one (the same
        # individual, found again after the tracker gave it up) takes on its sides and
        # zones, so a crossing made while unseen counts once and a visit goes on.
        key = self.individual_of.get(track_id, track_id)
        track = self._tracks.get(key)
        if track is None:
            track = _Track(
                detection.label,
                at_ms,
                frame,
                [0] * len(self.lines),
                [None] * len(self.lines),
                [None] * len(self.zones),
            )
            self._tracks[key] = track
        track.last_ms, track.last_frame, track.track_id = at_ms, frame, track_id
        point = anchor(detection, self.rules.bottom_anchor)
        for i, line in enumerate(self.lines):
            d = line.distance(point)
            side = 1 if d > self.band else -1 if d < -self.band else 0
            if side == 0:
                continue
            before, previous = track.sides[i], track.side_points[i]
            track.sides[i], track.side_points[i] = side, point
            if before == 0 or before == side or previous is None:
                continue
            d0 = line.distance(previous)
            share = d0 / (d0 - d)
            crossing = (
                previous[0] + (point[0] - previous[0]) * share,
                previous[1] + (point[1] - previous[1]) * share,
            )
            margin = self.band / line.length
            if -margin <= line.along(crossing) <= 1 + margin:
                events.append(
                    ZoneEvent(
                        at_ms,
                        frame,
                        "line_cross",
                        line.name,
                        track.label,
                        track_id,
                        "in" if side > 0 else "out",
                    )
                )
        for i, zone in enumerate(self.zones):
            entered = track.inside[i]
            if entered is None and zone.contains(point):
                track.inside[i] = at_ms
                events.append(
                    ZoneEvent(at_ms, frame, "zone_enter", zone.name, track.label, track_id)
                )
            elif (
                entered is not None
                and not zone.contains(point)
                and zone.distance(point) > self.band
            ):
                track.inside[i] = None
                events.append(
                    ZoneEvent(
                        at_ms,
                        frame,
                        "zone_exit",
                        zone.name,
                        track.label,
                        track_id,
                        dwell_ms=at_ms - entered,
                    )
                )

    def end(self, key: int, events: list[ZoneEvent]) -> None:
        """The track (or individual) `key` is gone: it leaves every zone it is in at its
        last sighting."""
        track = self._tracks.pop(key, None)
        if track is None:
            return
        for i, entered in enumerate(track.inside):
            if entered is not None:
                events.append(
                    ZoneEvent(
                        track.last_ms,
                        track.last_frame,
                        "zone_exit",
                        self.zones[i].name,
                        track.label,
                        track.track_id,
                        dwell_ms=track.last_ms - entered,
                    )
                )


@dataclass(slots=True)
class _ZoneLabel:
    entries: int = 0
    exits: int = 0
    tracks: set[int] = field(default_factory=set)
    dwell_total_ms: int = 0
    max_dwell_ms: int = 0
    occupancy: int = 0
    peak_occupancy: int = 0
    peak_ms: int = 0


class ZoneTotals:
    """The summary's `lines` and `zones` from the events, in the order they come.
    Occupancy is the tracks in the zone after each event; a track that ends inside a
    zone is counted in it until the tracker gives it up."""

    def __init__(self, spec: ZoneSpec) -> None:
        self.line_names = [li.name for li in spec.lines]
        self.zone_names = [z.name for z in spec.zones]
        self.lines: dict[str, dict[str, list[int]]] = {n: {} for n in self.line_names}
        self.zones: dict[str, dict[str, _ZoneLabel]] = {n: {} for n in self.zone_names}

    def add(self, events: Iterable[ZoneEvent]) -> None:
        for event in events:
            if event.kind == "line_cross":
                counts = self.lines[event.name].setdefault(event.label, [0, 0])
                counts[0 if event.direction == "in" else 1] += 1
                continue
            totals = self.zones[event.name].setdefault(event.label, _ZoneLabel())
            if event.kind == "zone_enter":
                totals.entries += 1
                totals.tracks.add(event.track_id)
                totals.occupancy += 1
                if totals.occupancy > totals.peak_occupancy:
                    totals.peak_occupancy, totals.peak_ms = totals.occupancy, event.timestamp_ms
            else:
                totals.exits += 1
                totals.occupancy -= 1
                dwell = event.dwell_ms or 0
                totals.dwell_total_ms += dwell
                totals.max_dwell_ms = max(totals.max_dwell_ms, dwell)

    def line_count(self, name: str) -> tuple[int, int]:
        """(in, out) over every label, for a live caption."""
        counts = self.lines[name].values()
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def occupancy(self, name: str) -> int:
        return sum(t.occupancy for t in self.zones[name].values())

    def summary_lines(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "counts": [
                    {"label": label, "in": c[0], "out": c[1]}
                    for label, c in sorted(self.lines[name].items())
                ],
            }
            for name in self.line_names
        ]

    def summary_zones(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "counts": [
                    {
                        "label": label,
                        "entries": t.entries,
                        "exits": t.exits,
                        "individuals": len(t.tracks),
                        "mean_dwell_ms": round(t.dwell_total_ms / t.exits) if t.exits else 0,
                        "max_dwell_ms": t.max_dwell_ms,
                        "peak_occupancy": t.peak_occupancy,
                        "peak_ms": t.peak_ms,
                    }
                    for label, t in sorted(self.zones[name].items())
                ],
            }
            for name in self.zone_names
        ]
