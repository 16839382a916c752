"""The job's one zone feed, through the end-of-job pass: events.csv in time order, and
a track found again after a gap (the same id, or a later track of the same individual)
crossing a line once."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from app.adapters.exports.events_csv import EventsCsvSink
from app.adapters.exports.summary import SummarySink
from app.adapters.exports.zone_feed import ZoneFeed
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.detections import Detection
from app.domain.finishing import FinishingWriter
from app.domain.frames import Frame
from app.domain.model import Job
from app.domain.results_writer import ResultsWriter
from app.domain.track_facts import ConfirmationRule, TrackFacts
from app.domain.zone_events import ZoneRules
from app.domain.zones import parse_zones

pytestmark = pytest.mark.unit

# 640x480; the door is drawn left to right at y=240 (moving down is "in"), the room is
# the square 100..300.
SPEC = parse_zones(
    json.dumps(
        {
            "lines": [{"name": "door", "points": [[0, 240], [640, 240]]}],
            "zones": [
                {"name": "room", "polygon": [[100, 100], [300, 100], [300, 300], [100, 300]]}
            ],
        }
    )
)
RULE = ConfirmationRule(min_hits=3, min_score=1.5, min_duration_ms=300)


def person(track_id: int, cx: float, bottom: float, held: bool = False) -> Detection:
    box = [int(cx - 10), int(bottom - 40), 20, 40]
    return Detection("person", box, 0.9, track_id, carried=held, tracked=held)


def run_job(frames: list[list[Detection]], step_ms: int = 100) -> tuple[list[dict], dict]:
    """The frames through the finishing pass into the summary and events.csv, which
    share one feed as export_sinks makes them; returns the events rows and the summary."""
    assert SPEC is not None
    storage = InMemoryStorage()
    job = Job(job_id=uuid.uuid4(), pipeline_id="people", input_path="a.mp4")
    summary = SummarySink(storage, job.job_id, zones=SPEC, frame_size=(640, 480))
    events = EventsCsvSink(storage, job.job_id, SPEC, (640, 480))
    summary.zone_feed = events.zone_feed = ZoneFeed(SPEC, ZoneRules(), size=(640, 480))
    finishing = FinishingWriter(ResultsWriter(storage, job), TrackFacts(RULE), [summary, events])
    for i, found in enumerate(frames):
        finishing.add(Frame(i, i * step_ms, None, {}, detections=list(found)))
    finishing.close({"fps": 1000 / step_ms}, [])
    text = storage.load_file(f"{job.job_id}_events.csv").decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    document = json.loads(storage.load_file(f"{job.job_id}_summary.json"))
    return rows, document


def line_counts(document: dict) -> dict[str, tuple[int, int]]:
    return {c["label"]: (c["in"], c["out"]) for c in document["lines"][0]["counts"]}


def test_events_are_in_time_order_when_a_track_ends_inside_a_zone():
    """Track 1 stands in the room, is last measured at frame 9 and held by the tracker
    two more frames; track 2 crosses the door at frame 12. The room's exit (at frame 9,
    track 1's last sighting) comes before the crossing, not when the track is given up."""
    frames = []
    for i in range(20):
        found = []
        if i < 10:
            found.append(person(1, 200, 200))
        elif i < 12:
            found.append(person(1, 200, 200, held=True))
        found.append(person(2, 500, 130 + 10 * i))
        frames.append(found)
    rows, document = run_job(frames)
    times = [int(r["timestamp_ms"]) for r in rows]
    assert times == sorted(times), rows
    assert [(r["kind"], r["track_id"], r["timestamp_ms"]) for r in rows] == [
        ("zone_enter", "1", "0"),
        ("zone_exit", "1", "900"),
        ("line_cross", "2", "1200"),
    ]
    assert document["zones"][0]["counts"][0]["max_dwell_ms"] == 900


def test_a_track_found_again_after_a_gap_crosses_once():
    """The same id: measured above the door, unseen for 600 ms while the tracker's
    held boxes run on past the line and back, then measured below it, jittering on the
    far side. One crossing."""
    frames: list[list[Detection]] = []
    for i in range(30):
        if i < 8:
            frames.append([person(1, 320, 150 + 10 * i)])  # down to 220
        elif i < 14:
            frames.append([person(1, 320, 260 - 10 * (i - 8), held=True)] if i < 10 else [])
        else:
            frames.append([person(1, 320, 280 + (4 if i % 2 else -4))])
    rows, document = run_job(frames)
    assert [(r["kind"], r["direction"]) for r in rows if r["kind"] == "line_cross"] == [
        ("line_cross", "in")
    ]
    assert line_counts(document) == {"person": (1, 0)}


def test_an_individual_found_again_as_a_new_track_crosses_once_and_visits_once():
    """Track 1 walks down and is lost just above the door; 400 ms later the tracker
    finds the same walker as track 2 just below it, heading on (TrackFacts joins them
    as one individual). The crossing made while unseen counts once; walking back up
    through the room afterwards is one visit."""
    frames: list[list[Detection]] = []
    for i in range(8):
        frames.append([person(1, 200, 150 + 10 * i)])  # down to 220, in the room
    frames += [[] for _ in range(3)]
    for i in range(8):
        frames.append([person(2, 200, 260 + 10 * i)])  # on down, still in the room to 300
    rows, document = run_job(frames)
    crossings = [(r["direction"], r["track_id"]) for r in rows if r["kind"] == "line_cross"]
    assert crossings == [("in", "2")]
    room = document["zones"][0]["counts"][0]
    assert (room["entries"], room["exits"], room["individuals"]) == (1, 1, 1), rows
