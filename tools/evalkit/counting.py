"""Line counts on real footage against crossings counted by eye (truth/crossings.json).

The clip runs through the worker's frame loop (the people pipeline's steps, then the
shots and tracker stages), and its tracks through the zone counter as a job with
`zones` runs it (bottom-centre anchor, hysteresis band, predicted boxes not counted).
The baseline counts every tracked box's centre changing side (no band, predictions
included), the naive rule. A counted crossing matches a true one of the same direction
within 1 s (greedy, nearest first); the count error is |counted - true| / true.

Run alone: `cd tools && ../.venv/bin/python -m evalkit.counting` (prints the section);
`make eval` appends `section()` to docs/accuracy.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[2]
TRUTH = Path(__file__).with_name("truth") / "crossings.json"
MATCH_MS = 1000


def _frames(path: Path) -> Iterator:
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


def measure(name: str, clip: dict) -> list[list[str]]:
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.engine import analyse
    from app.adapters.pipeline.tracking import tracking_stages
    from app.domain.frames import Frame, FrameSink
    from app.domain.options import AnalysisOptions
    from app.domain.zone_events import ZoneCounter, ZoneRules
    from app.domain.zones import parse_zones
    from evalkit.materials import source_path

    spec = parse_zones(
        json.dumps(
            {"lines": [{"name": li["name"], "points": li["points"]} for li in clip["lines"]]}
        )
    )
    assert spec is not None
    path = source_path(name)
    capture = cv2.VideoCapture(str(path))
    width, height = int(capture.get(3)), int(capture.get(4))
    fps = capture.get(5) or 25.0
    capture.release()
    methods = {
        "zones (bottom-centre, band, measured boxes)": (ZoneCounter(spec, width, height), False),
        "baseline: every box's centre, no band": (
            ZoneCounter(spec, width, height, ZoneRules(band=0.0, bottom_anchor=frozenset())),
            True,
        ),
    }
    found: dict[str, list] = {method: [] for method in methods}

    class Counting(FrameSink):
        def add(self, frame: Frame) -> None:
            for method, (counter, every_box) in methods.items():
                detections = list(frame.detections or ())
                if every_box:
                    detections = [
                        type(d)(d.label, d.bbox, d.confidence, d.track_id) for d in detections
                    ]
                found[method] += counter.update(
                    frame.index, frame.timestamp_ms, detections, frame.ended_tracks
                )

    steps = PipelineCatalog.load().get("people").build_steps()
    analyse(_frames(path), steps, tracking_stages("people", AnalysisOptions()), [Counting()])
    rows = []
    for line in clip["lines"]:
        for direction in ("in", "out"):
            truth = line[direction]
            for method, events in found.items():
                frames = [
                    e.frame_index
                    for e in events
                    if e.name == line["name"] and e.direction == direction
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
                        f"{100 * error:.0f}%",
                        str(hit),
                        str(len(truth) - hit),
                        str(len(frames) - hit),
                    ]
                )
    return rows


def table() -> str:
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    header = [
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
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, clip in truth.items():
        if name.startswith("_"):
            continue
        lines += ["| " + " | ".join(row) + " |" for row in measure(name, clip)]
    return "\n".join(lines)


def section() -> str:
    """The counting section of docs/accuracy.md (appended by tools/eval.py)."""
    return "\n".join(
        [
            "",
            "## zones: line counts (target: count error <= 10% per line and direction)",
            "",
            "Real footage through the worker's frame loop (people pipeline, shots and",
            "tracker stages) and the zone counter a job with `zones` runs; the true",
            "crossings were counted by eye (tools/evalkit/truth/crossings.json: a slit",
            "image of the line over the whole clip, then crop strips around each streak).",
            "A counted crossing matches a true one of the same direction within 1 s.",
            "",
            table(),
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    print(section())
