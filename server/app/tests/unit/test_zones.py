"""The `zones` option's checks and the crossing, entry, exit and dwell rules."""

from __future__ import annotations

import json
import time

import pytest

from app.domain.detections import Detection
from app.domain.errors import InvalidOptions
from app.domain.options import AnalysisOptions, parse_options
from app.domain.zone_events import ZoneCounter, ZoneTotals
from app.domain.zones import ZoneLimits, ZoneSpec, check_in_frame, parse_zones

# Drawn left to right across a 640x480 frame: moving down the image is "in".
DOOR = {"name": "door", "points": [[0, 240], [640, 240]]}
ROOM = {"name": "room", "polygon": [[100, 100], [300, 100], [300, 300], [100, 300]]}


def spec(**data) -> ZoneSpec:
    parsed = parse_zones(json.dumps(data))
    assert parsed is not None
    return parsed


def person(track_id: int, cx: float, bottom: float) -> Detection:
    return Detection("person", [int(cx - 10), int(bottom - 40), 20, 40], 0.9, track_id)


def run(zone_spec: ZoneSpec, frames, fps: float = 25.0):
    """frames: per frame, a list of (track_id, cx, bottom); tracks end when they vanish."""
    counter = ZoneCounter(zone_spec, 640, 480)
    totals = ZoneTotals(zone_spec)
    events: list = []
    alive: set[int] = set()
    for i, found in enumerate(frames):
        ids = {t for t, *_ in found}
        ended = sorted(alive - ids)
        alive = ids
        at = round(i * 1000 / fps)
        events += counter.update(i, at, [person(*f) for f in found], ended)
    events += counter.finish()
    totals.add(events)
    return events, totals


def test_the_option_round_trips_and_is_echoed_as_given():
    options = parse_options({"zones": json.dumps({"lines": [DOOR], "zones": [ROOM]})})
    assert options.zones == {"zones": [ROOM], "lines": [DOOR], "units": "px"}
    assert AnalysisOptions.from_dict(options.to_dict()) == options
    assert options.zone_spec() == spec(lines=[DOOR], zones=[ROOM])


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"lines": [DOOR], "colour": 1}, "unknown key"),
        ({"lines": [{**DOOR, "width": 2}]}, "line 'door': unknown key"),
        (
            {"zones": [{"name": "bow", "polygon": [[0, 0], [10, 10], [10, 0], [0, 10]]}]},
            "crosses itself",
        ),
        ({"lines": [DOOR, DOOR]}, "'door': the name is used twice"),
        ({"lines": [{"name": "", "points": [[0, 0], [1, 1]]}]}, "name must be text"),
        ({"lines": [{"name": "x" * 65, "points": [[0, 0], [1, 1]]}]}, "1 to 64"),
        ({"lines": [{"name": "a", "points": [[0, 0]]}]}, "line 'a': a line has exactly 2"),
        ({"zones": [{"name": "z", "polygon": [[0, 0], [1, 1]]}]}, "zone 'z': a polygon has 3"),
        ({"lines": [{"name": "f", "points": [[0, 0], [1.5, 1]]}], "units": "fraction"}, "'f'"),
        ({"lines": [DOOR], "units": "inch"}, "units"),
        ({}, "no zone and no line"),
    ],
)
def test_bad_geometry_is_refused_naming_what_is_wrong(data, says):
    with pytest.raises(InvalidOptions) as raised:
        parse_zones(json.dumps(data))
    assert says in str(raised.value)


def test_limits_come_from_settings():
    limits = ZoneLimits(max_bytes=16 * 1024, max_zones=1, max_lines=1, max_points=4)
    with pytest.raises(InvalidOptions, match="2 lines; at most 1"):
        parse_zones(json.dumps({"lines": [DOOR, {**DOOR, "name": "b"}]}), limits)
    square5 = [[0, 0], [5, 0], [5, 5], [2, 6], [0, 5]]
    with pytest.raises(InvalidOptions, match="3 to 4 points, not 5"):
        parse_zones(json.dumps({"zones": [{"name": "p", "polygon": square5}]}), limits)
    with pytest.raises(InvalidOptions, match="bytes of JSON"):
        parse_zones(json.dumps({"lines": [DOOR], "pad": "x" * 17000}))
    with pytest.raises(InvalidOptions, match="not valid JSON"):
        parse_zones("{")


def test_points_outside_the_probed_frame_are_refused():
    with pytest.raises(InvalidOptions, match=r"line 'door': point \[640, 240\] is outside"):
        check_in_frame(spec(lines=[DOOR]), 320, 240)
    check_in_frame(spec(lines=[DOOR]), 640, 480)


def test_a_walker_crossing_once_counts_once_in_its_direction():
    path = [[(1, 320, 100 + 10 * i)] for i in range(30)]  # down the image: in
    events, totals = run(spec(lines=[DOOR]), path)
    assert [(e.kind, e.direction) for e in events] == [("line_cross", "in")]
    assert totals.summary_lines() == [
        {"name": "door", "counts": [{"label": "person", "in": 1, "out": 0}]}
    ]
    back = [[(1, 320, 400 - 10 * i)] for i in range(30)]
    assert [e.direction for e in run(spec(lines=[DOOR]), back)[0]] == ["out"]


def test_one_turning_back_on_the_line_or_jittering_on_it_counts_nothing():
    bottoms = [200, 220, 235, 242, 238, 244, 236, 241, 225, 200]  # into the band and back
    events, _ = run(spec(lines=[DOOR]), [[(1, 320, b)] for b in bottoms])
    assert events == []


def test_a_crossing_outside_the_line_extent_is_not_counted():
    short = {"name": "short", "points": [[0, 240], [200, 240]]}
    events, _ = run(spec(lines=[short]), [[(1, 500, 100 + 10 * i)] for i in range(30)])
    assert events == []


def test_two_walking_together_count_twice():
    path = [[(1, 300, 100 + 10 * i), (2, 340, 100 + 10 * i)] for i in range(30)]
    _, totals = run(spec(lines=[DOOR]), path)
    assert totals.summary_lines()[0]["counts"] == [{"label": "person", "in": 2, "out": 0}]


def test_one_standing_in_a_zone_for_5_s_then_leaving():
    path = [[(1, 50, 200)]] * 5 + [[(1, 200, 200)]] * 125 + [[(1, 400, 200)]] * 5
    events, totals = run(spec(zones=[ROOM]), path)
    assert [(e.kind, e.dwell_ms) for e in events] == [("zone_enter", None), ("zone_exit", 5000)]
    (counts,) = totals.summary_zones()[0]["counts"]
    assert counts == {
        "label": "person",
        "entries": 1,
        "exits": 1,
        "individuals": 1,
        "mean_dwell_ms": 5000,
        "max_dwell_ms": 5000,
        "peak_occupancy": 1,
        "peak_ms": 200,
    }


def test_a_track_that_ends_inside_a_zone_exits_at_its_last_frame():
    path = [[(1, 50, 200)]] * 5 + [[(1, 200, 200)]] * 20 + [[]] * 10
    events, _ = run(spec(zones=[ROOM]), path)
    assert [(e.kind, e.timestamp_ms, e.dwell_ms) for e in events] == [
        ("zone_enter", 200, None),
        ("zone_exit", 960, 760),
    ]
    still_there = [[(1, 200, 200)]] * 10  # to the end of the video
    events, _ = run(spec(zones=[ROOM]), still_there)
    assert [(e.kind, e.timestamp_ms) for e in events] == [("zone_enter", 0), ("zone_exit", 360)]


def test_sampled_frames_still_count_a_crossing_between_two_sightings():
    # One sighting per second, 120 px apart: the path between them meets the line.
    events, _ = run(spec(lines=[DOOR]), [[(1, 320, 120 + 120 * i)] for i in range(4)], fps=1.0)
    assert [(e.direction, e.timestamp_ms) for e in events] == [("in", 2000)]


def test_fractions_are_resolved_with_the_frame_size():
    fraction = spec(lines=[{"name": "half", "points": [[0, 0.5], [1, 0.5]]}], units="fraction")
    events, _ = run(fraction, [[(1, 320, 100 + 10 * i)] for i in range(30)])
    assert [e.direction for e in events] == ["in"]


def test_geometry_costs_a_few_microseconds_per_track_per_frame(capsys):
    many = spec(lines=[DOOR, {**DOOR, "name": "d2"}], zones=[ROOM, {**ROOM, "name": "r2"}])
    counter = ZoneCounter(many, 640, 480)
    detections = [person(t, 20 * t, 200) for t in range(20)]
    frames = 500
    start = time.perf_counter()
    for i in range(frames):
        counter.update(i, i * 40, detections)
    per = (time.perf_counter() - start) / (frames * len(detections)) * 1e6
    with capsys.disabled():
        print(f"\nzone geometry: {per:.1f} us per track per frame (2 lines, 2 zones)")
    assert per > 0


def test_frames_without_their_image_are_sized_by_the_header():
    """A sink fed after the last frame (images gone) still resolves fractions and the band."""
    from app.adapters.exports.zone_feed import ZoneFeed
    from app.domain.frames import Frame
    from app.domain.zone_events import ZoneRules

    fraction = spec(lines=[{"name": "half", "points": [[0, 0.5], [1, 0.5]]}], units="fraction")
    feed = ZoneFeed(fraction, ZoneRules(), size=(640, 480))
    events = []
    for i in range(30):
        frame = Frame(i, i * 40, None)
        frame.detections = [person(1, 320, 100 + 10 * i)]
        events += feed.events(frame)
    assert [e.direction for e in events] == ["in"]
    assert feed.counter is not None and feed.counter.band == pytest.approx(0.015 * 480)
