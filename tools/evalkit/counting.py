"""Line counts and zone dwell on real footage against what was judged by eye
(truth/crossings.json).

Each clip runs through the worker's frame loop (its pipeline's steps, then the shots
and tracker stages) and the job's end-of-job pass, whose one zone feed counts what a job
with `zones` reports: confirmed tracks only, tracks of one individual as one,
bottom-centre anchor, hysteresis band, predicted boxes not counted. The baseline counts
every tracked box's centre changing side as the loop made it (no band, predictions and
unconfirmed tracks included), the naive rule. A counted crossing matches a true one of
the same direction within 1 s (greedy, nearest first); the count error is
|counted - true| / true. A clip cut from several camera views names the view its lines
are drawn for (`window`).

Dwell: a zone on a clip, every person whose visit lies in a window of frames judged by
eye (the frames their feet cross the zone's edge), each matched by time and place to
the service's visit (one individual's `zone_enter` to its `zone_exit`); the error is the
difference of the two dwells. Visits no person made are listed, never dropped.

Run alone: `cd tools && PYTHONPATH=../server ../.venv/bin/python -m evalkit.counting`
(prints the section); `make eval` appends `section()` to docs/accuracy.md.
"""

from __future__ import annotations

import json
import math
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2

REPO = Path(__file__).resolve().parents[2]
TRUTH = Path(__file__).with_name("truth") / "crossings.json"
MATCH_MS = 1000
PLACE_PX = 80  # how far a visit's first anchor may be from where the person came in


def video_frames(path: Path) -> Iterator:
    """Every frame of a file as the frame loop's `Frame`, timed by the container."""
    from app.domain.frames import Frame

    capture = cv2.VideoCapture(str(path))
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            yield Frame(index, round(capture.get(cv2.CAP_PROP_POS_MSEC)), image)
            index += 1
    finally:
        capture.release()


def _matched(found: list[int], truth: list[int], frame_ms: float) -> int:
    """Pairs of a counted and a true crossing within MATCH_MS, nearest first."""
    pairs = sorted(
        (abs(f - t) * frame_ms, i, j)
        for i, f in enumerate(found)
        for j, t in enumerate(truth)
        if abs(f - t) * frame_ms <= MATCH_MS
    )
    used_f, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_f)


SERVICE = "zones (the service: confirmed tracks, bottom-centre, band)"
NAIVE = "baseline: every box's centre, no band"


def _run(name: str, clip: dict) -> tuple[dict[str, list], list, dict, float]:
    """One pass of the clip as a job runs it: the crossings each counter found, the
    service's zone events (dwell), where each visit's anchor was when it entered, and
    the clip's fps. The service's counts come from the job's own end-of-job pass
    (confirmed tracks with their life-long labels, one zone feed, tracks of one
    individual counted as one); the baseline sees every tracked box as the loop made it."""
    from app.adapters.exports.zone_feed import ZoneFeed
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.engine import analyse
    from app.adapters.pipeline.tracking import tracking_stages
    from app.adapters.storage.in_memory import InMemoryStorage
    from app.bootstrap import build_confirmation
    from app.domain.finishing import FinishingWriter
    from app.domain.frames import Frame, FrameSink
    from app.domain.model import Job
    from app.domain.options import AnalysisOptions
    from app.domain.results_writer import ResultsWriter
    from app.domain.track_facts import TrackFacts
    from app.domain.zone_events import BOTTOM_ANCHOR_LABELS, ZoneCounter, ZoneRules, anchor
    from app.domain.zones import parse_zones
    from app.settings import Settings
    from evalkit.materials import source_path

    lines = [{"name": li["name"], "points": li["points"]} for li in clip["lines"]]
    dwell = clip.get("dwell")
    zones = [dwell["zone"]] if dwell else []
    spec = parse_zones(json.dumps({"lines": lines}))
    both = parse_zones(json.dumps({"lines": lines, "zones": zones}))
    assert spec is not None and both is not None
    path = source_path(name)
    capture = cv2.VideoCapture(str(path))
    width, height = int(capture.get(3)), int(capture.get(4))
    fps = capture.get(5) or 25.0
    capture.release()
    feed = ZoneFeed(both, ZoneRules(), (width, height))
    naive = ZoneCounter(spec, width, height, ZoneRules(band=0.0, bottom_anchor=frozenset()))
    found: dict[str, list] = {SERVICE: [], NAIVE: []}
    zone_events: list = []  # (event, the individual its track belongs to)
    entered_at: dict[int, tuple[float, float]] = {}  # individual -> anchor at entry
    facts = TrackFacts(build_confirmation(Settings(_env_file=None)))

    def individual(track_id: int) -> int:
        fact = facts.get(track_id)
        return fact.individual if fact is not None else track_id

    def take(events: list, frame: Frame | None) -> None:
        for event in events:
            if event.kind == "line_cross":
                found[SERVICE].append(event)
                continue
            who = individual(event.track_id)
            zone_events.append((event, who))
            if event.kind == "zone_enter" and frame is not None:
                for d in frame.detections or ():
                    if d.track_id == event.track_id:
                        entered_at[who] = anchor(d, BOTTOM_ANCHOR_LABELS)

    class EveryBox(FrameSink):
        def add(self, frame: Frame) -> None:
            boxes = [
                type(d)(d.label, d.bbox, d.confidence, d.track_id) for d in frame.detections or ()
            ]
            found[NAIVE] += naive.update(frame.index, frame.timestamp_ms, boxes, frame.ended_tracks)

    class Service(FrameSink):
        after_tracks = True

        def tracks_settled(self, settled: TrackFacts) -> None:
            feed.tracks_settled(settled)

        def add(self, frame: Frame) -> None:
            take(feed.events(frame), frame)

    pipeline = clip.get("pipeline", "people")
    job = Job(job_id=uuid.uuid4(), pipeline_id=pipeline, input_path=str(path))
    finishing = FinishingWriter(ResultsWriter(InMemoryStorage(), job), facts, [Service()])
    steps = PipelineCatalog.load().get(pipeline).build_steps()
    stages = tracking_stages(pipeline, AnalysisOptions())
    analyse(video_frames(path), steps, stages, [finishing, EveryBox()])
    finishing.close({"fps": fps}, [])
    take(feed.finish(), None)
    return found, zone_events, entered_at, fps


def line_rows(name: str, clip: dict, found: dict[str, list], fps: float) -> list[list[str]]:
    """Per line and direction: true and counted crossings. A clip cut from several
    camera views has its line drawn for one of them; `window` (first, last frame) is
    that view, and crossings outside it are not counted on either side."""
    first, last = clip.get("window", (0, 10**9))
    rows = []
    for line in clip["lines"]:
        for direction in ("in", "out"):
            truth = line[direction]
            for method, events in found.items():
                frames = [
                    e.frame_index
                    for e in events
                    if e.name == line["name"]
                    and e.direction == direction
                    and first <= e.frame_index <= last
                ]
                hit = _matched(frames, truth, 1000 / fps)
                error = abs(len(frames) - len(truth)) / len(truth) if truth else 0.0
                rows.append(
                    [
                        f"{Path(name).name} `{line['name']}`",
                        direction,
                        method,
                        str(len(truth)),
                        str(len(frames)),
                        f"{100 * error:.0f}%" if truth else "-",
                        str(hit),
                        str(len(truth) - hit),
                        str(len(frames) - hit),
                    ]
                )
    return rows


def _visits(zone_events: list, entered_at: dict, first: int, last: int) -> list[dict]:
    """The service's zone visits (one individual's enter to its exit) in the window."""
    enters: dict[int, Any] = {}
    visits = []
    for event, who in zone_events:
        if event.kind == "zone_enter":
            enters[who] = event
        elif event.kind == "zone_exit" and who in enters:
            enter = enters.pop(who)
            if first <= enter.frame_index and event.frame_index <= last:
                visits.append(
                    {
                        "track": event.track_id,
                        "enter": enter.frame_index,
                        "exit": event.frame_index,
                        "dwell_ms": event.dwell_ms,
                        "at": entered_at.get(who, (-1e9, -1e9)),
                    }
                )
    return visits


def dwell_rows(
    name: str, clip: dict, zone_events: list, entered_at: dict, fps: float
) -> list[list[str]]:
    """Each individual judged by eye against the service visit that matches it: the
    visit whose enter is within MATCH_MS of the true enter and whose anchor was within
    PLACE_PX of where the person came in (nearest in time first, each visit once)."""
    dwell = clip["dwell"]
    first, last = dwell["window"]
    frame_ms = 1000 / fps
    visits = _visits(zone_events, entered_at, first, last)
    pairs = sorted(
        (abs(v["enter"] - person["enter"]), i, j)
        for i, person in enumerate(dwell["individuals"])
        for j, v in enumerate(visits)
        if abs(v["enter"] - person["enter"]) * frame_ms <= MATCH_MS
        and math.dist(v["at"], person["at"]) <= PLACE_PX
    )
    match: dict[int, int] = {}
    for _, i, j in pairs:
        if i not in match and j not in match.values():
            match[i] = j
    rows = []
    for i, person in enumerate(dwell["individuals"]):
        true_s = (person["exit"] - person["enter"]) * frame_ms / 1000
        cells = [
            f"{Path(name).name} `{dwell['zone']['name']}`",
            person["who"],
            f"{person['enter']}-{person['exit']}",
            f"{true_s:.1f} s",
        ]
        if i in match:
            v = visits[match[i]]
            got = v["dwell_ms"] / 1000
            cells += [
                f"track {v['track']}: {v['enter']}-{v['exit']}",
                f"{got:.1f} s",
                f"{abs(got - true_s):.1f} s",
            ]
        else:
            cells += ["none", "-", "missed"]
        rows.append(cells)
    for j, v in enumerate(visits):
        if j not in match.values():
            rows.append(
                [
                    f"{Path(name).name} `{dwell['zone']['name']}`",
                    "no one (a visit no person made)",
                    "-",
                    "-",
                    f"track {v['track']}: {v['enter']}-{v['exit']}",
                    f"{v['dwell_ms'] / 1000:.1f} s",
                    "false visit",
                ]
            )
    return rows


def tables() -> tuple[str, str]:
    """The line-count table and the dwell table, one pass per clip."""
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    line_header = [
        "clip, line",
        "direction",
        "counter",
        "true",
        "counted",
        "count error",
        "matched",
        "missed",
        "false",
    ]
    dwell_header = [
        "clip, zone",
        "individual (by eye)",
        "true frames",
        "true dwell",
        "service visit (frames)",
        "service dwell",
        "dwell error",
    ]
    line_table = ["| " + " | ".join(line_header) + " |", "|" + "---|" * len(line_header)]
    dwell_table = ["| " + " | ".join(dwell_header) + " |", "|" + "---|" * len(dwell_header)]
    for name, clip in truth.items():
        if name.startswith("_"):
            continue
        found, zone_events, entered_at, fps = _run(name, clip)
        line_table += ["| " + " | ".join(row) + " |" for row in line_rows(name, clip, found, fps)]
        if "dwell" in clip:
            rows = dwell_rows(name, clip, zone_events, entered_at, fps)
            dwell_table += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(line_table), "\n".join(dwell_table)


def section() -> str:
    """The counting section of docs/accuracy.md (appended by tools/eval.py)."""
    line_table, dwell_table = tables()
    return "\n".join(
        [
            "",
            "## zones: line counts (target: count error <= 10% per line and direction)",
            "",
            "Real footage through the worker's frame loop (the clip's pipeline, shots and",
            "tracker stages) and the zone counter a job with `zones` runs; the true",
            "crossings were counted by eye (tools/evalkit/truth/crossings.json: a slit",
            "image of the line over the whole clip, then crop strips around each streak).",
            "A counted crossing matches a true one of the same direction within 1 s.",
            "vtest.avi has two lines: `path` across the walkway left of the lamp post, and",
            "`right path` (x=560) across the open paving towards the road at the top right.",
            "The service's counts are what a job reports (its end-of-job pass: confirmed",
            "tracks only); the baseline counts every tracked box the loop made.",
            "A clip cut from several camera views has its lines drawn for one view",
            "(bikes.mp4: the street behind a fence, frames 137-186, cars by the objects",
            "pipeline); crossings in its other views are counted on neither side.",
            "",
            line_table,
            "",
            "### zones: dwell per individual (target: dwell error <= 1 s)",
            "",
            "Each person's time inside the zone judged by eye (the frames their feet cross",
            "its edge, on crops of every frame around it) against the service's",
            "`zone_enter`/`zone_exit` visit for the same person: a visit matches a person",
            "when it starts within 1 s of the true entry (time) and its track's anchor is",
            f"then within {PLACE_PX} px of where the person came in (place); nearest in time",
            "first, each visit once. Visits no person made are listed as false visits.",
            "",
            dwell_table,
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    print(section())
