"""Identity metrics on real footage: who is who, labelled by eye, against the `people`
pipeline's confirmed tracks.

The truth (truth/identities.json) gives, on sampled frames of a real clip, a box per
visible person with a person id that stays the same across frames. Each clip's
detector steps run once over every frame (what a job runs: the pipeline's steps with
its `every`); every tracker variant then replays those detections through the stages a
job runs (shots, the tracker, the filters with the pipeline's confidence floor) and
the track table the summary is built from (domain/track_facts.py). Only what a user is
shown is scored: detections of confirmed tracks whose life-long label is `person`.

On the sampled frames, `motmetrics` matches detections to true people at IoU >= 0.5
(Hungarian per frame; the distances are ours, as in evalkit.identity) and gives IDF1,
identity switches and fragmentations. A detection left over on an ignore region (a
person nobody could box: too small, too blurred, cut by the frame) counts neither way.
Count error: |individuals of label person in the summary - distinct true people| /
distinct true people, over the whole clip; the confirmed track count is shown beside.

Run alone: `cd tools && ../.venv/bin/python -m evalkit.identity_real` (prints the
table); `make eval` appends `section()` to docs/accuracy.md.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import motmetrics as mm
import numpy as np

from evalkit.counting import video_frames
from evalkit.metrics import iou

REPO = Path(__file__).resolve().parents[2]
TRUTH = Path(__file__).with_name("truth") / "identities.json"
MATCH_IOU = 0.5
METRICS = ["idf1", "num_switches", "num_fragmentations", "mota"]
PIPELINE = "people"


@dataclass(frozen=True)
class Truth:
    source: str
    frames: dict[int, dict[str, list[float]]]  # frame -> person id -> box
    ignore: dict[int, list[list[float]]]

    @property
    def people(self) -> set[str]:
        return {pid for boxes in self.frames.values() for pid in boxes}


def load_truth() -> list[Truth]:
    data = json.loads(TRUTH.read_text())
    out = []
    for source, entry in data.items():
        if source.startswith("_"):
            continue
        frames = {int(k): dict(v["people"]) for k, v in entry["frames"].items()}
        ignore = {int(k): list(v.get("ignore", [])) for k, v in entry["frames"].items()}
        out.append(Truth(source, frames, ignore))
    return out


def variants() -> dict[str, Callable[[], tuple[object, bool]]]:
    """Name -> a factory of (tracker, compensate camera motion), fresh per replay."""
    from app.adapters.pipeline.tracking import Tracker

    untracked = ("motion", "text")
    return {
        "motion only (the tracker before)": lambda: (Tracker(untracked=untracked), False),
        "+ appearance cue (colour histograms; the default)": lambda: (
            Tracker(untracked=untracked, appearance=True),
            False,
        ),
        "Hungarian assignment": lambda: (
            Tracker(untracked=untracked, assignment="hungarian"),
            False,
        ),
        "Hungarian + appearance cue": lambda: (
            Tracker(untracked=untracked, assignment="hungarian", appearance=True),
            False,
        ),
    }


def capture(path: Path, last: int) -> list[list]:
    """The pipeline's detections on every frame up to `last` (steps only; images are
    not kept)."""
    from app.adapters.pipeline.catalog import PipelineCatalog

    steps = PipelineCatalog.load(None).get(PIPELINE).build_steps()
    out = []
    for frame in video_frames(path):
        if frame.index > last:
            break
        for step in steps:
            step.process(frame)
        out.append(copy.deepcopy(frame.detections or []))
    return out


def _on_ignore(box: list[float], regions: list[list[float]]) -> bool:
    for region in regions:
        w = min(box[0] + box[2], region[0] + region[2]) - max(box[0], region[0])
        h = min(box[1] + box[3], region[1] + region[3]) - max(box[1], region[1])
        inside = w > 0 and h > 0 and w * h >= 0.5 * box[2] * box[3]
        if inside or iou(box, region) >= MATCH_IOU:
            return True
    return False


def replay(truth: Truth, found: list[list], make: Callable[[], tuple[object, bool]]) -> dict:
    """One tracker variant over the captured detections: identity metrics and counts."""
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.filters import DetectionFilter
    from app.adapters.pipeline.shots import ShotStage
    from app.adapters.pipeline.tracking import TrackingStage
    from app.domain.options import AnalysisOptions
    from app.domain.track_facts import TrackFacts
    from evalkit.materials import source_path

    tracker, compensate = make()
    floor = PipelineCatalog.load(None).get(PIPELINE).min_confidence
    stages = [ShotStage(), DetectionFilter(AnalysisOptions(), 10_000, floor)]
    tracking = TrackingStage(tracker, compensate_camera=compensate)  # type: ignore[arg-type]
    facts = TrackFacts()
    kept: dict[int, list] = {}
    spent = 0.0
    for frame in video_frames(source_path(truth.source)):
        if frame.index >= len(found):
            break
        frame.detections = copy.deepcopy(found[frame.index])
        stages[0].process(frame)
        started = time.perf_counter()
        tracking.process(frame)
        spent += time.perf_counter() - started
        stages[1].process(frame)
        facts.observe(frame)
        if frame.index in truth.frames:
            kept[frame.index] = list(frame.detections or [])
    facts.settle()
    accumulator = mm.MOTAccumulator(auto_id=True)
    numbers = {pid: n for n, pid in enumerate(sorted(truth.people), start=1)}
    for index in sorted(truth.frames):
        people = truth.frames[index]
        hyps = []
        for detection in kept.get(index, []):
            fact = facts.get(detection.track_id) if detection.track_id else None
            if fact is not None and fact.confirmed and fact.label == "person":
                hyps.append(detection)
        keys = list(people)
        distances = np.full((len(keys), len(hyps)), np.nan)
        for row, key in enumerate(keys):
            for col, detection in enumerate(hyps):
                overlap = iou(people[key], list(detection.bbox))
                if overlap >= MATCH_IOU:
                    distances[row, col] = 1 - overlap
        unmatched = np.all(np.isnan(distances), axis=0) if keys else np.ones(len(hyps), bool)
        keep = [
            c
            for c, d in enumerate(hyps)
            if not (unmatched[c] and _on_ignore(list(d.bbox), truth.ignore.get(index, [])))
        ]
        accumulator.update(
            [numbers[k] for k in keys], [hyps[c].track_id for c in keep], distances[:, keep]
        )
    summary = mm.metrics.create().compute(accumulator, metrics=METRICS, name="clip")
    result: dict = {name: float(summary[name].iloc[0]) for name in METRICS}
    individuals = facts.individuals().get("person", 0)
    true_people = len(truth.people)
    result["tracks"] = sum(1 for f in facts.tracks() if f.label == "person")
    result["individuals"], result["people"] = individuals, true_people
    result["count_error"] = abs(individuals - true_people) / max(true_people, 1)
    result["ms_per_frame"] = 1000 * spent / max(len(found), 1)
    return result


def rows() -> list[dict]:
    from evalkit.materials import source_path

    out = []
    for truth in load_truth():
        # Up to the last labelled frame: the count compares the same span.
        found = capture(source_path(truth.source), max(truth.frames))
        for name, make in variants().items():
            clip = truth.source.split("/")[-1]
            out.append({"clip": clip, "tracker": name} | replay(truth, found, make))
    return out


def table(found: list[dict] | None = None) -> str:
    found = found if found is not None else rows()
    lines = [
        "| clip | tracker | IDF1 | ID switches | fragmentations | MOTA | confirmed person "
        "tracks | individuals / true people | count error | tracker ms/frame |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in found:
        lines.append(
            f"| {r['clip']} | {r['tracker']} | {r['idf1']:.3f} | {r['num_switches']:.0f} "
            f"| {r['num_fragmentations']:.0f} | {r['mota']:.3f} | {r['tracks']} "
            f"| {r['individuals']} / {r['people']} | {r['count_error']:.0%} "
            f"| {r['ms_per_frame']:.2f} |"
        )
    return "\n".join(lines)


def section() -> str:
    """The real-footage identity section of docs/accuracy.md (appended by tools/eval.py)."""
    about = json.loads(TRUTH.read_text())["_about"]
    return "\n".join(
        [
            "",
            "## tracks: who is who on real footage (motmetrics)",
            "",
            f"The `{PIPELINE}` pipeline on real clips, its detections computed once and",
            "replayed through each tracker variant, then the job's filters and track table:",
            "only confirmed `person` tracks (what the summary shows) are scored. IDF1,",
            "identity switches, fragmentations and MOTA from `motmetrics` (IoU >= 0.5) on",
            "the labelled frames; count error = |individuals in the summary - distinct true",
            "people| / distinct true people over the clip; ms/frame is the tracker alone.",
            f"Truth (tools/evalkit/truth/identities.json): {about}",
            "",
            table(),
            "",
            "No library tracker is in the project's locks (`trackers`, `norfair`, `boxmot`",
            "are not), so none is compared here.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    print(table())
