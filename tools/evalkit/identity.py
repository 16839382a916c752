"""Identity metrics (IDF1, identity switches, fragmentation, MOTA, count error) with
`motmetrics`, for each tracker variant on the same detections.

The clips are evalkit.tracking's virtual-camera clips of real photographs: every truth
object is one identity for its shot by construction ("horse#1"), so who-is-who needs no
guessing. Each clip's detector steps run once; every variant's tracker (the shots and
tracker stages, as the worker builds them) then replays the same frames and detections,
so the rows differ only by the tracker. A detection matches a truth object of its label
at IoU >= 0.5 (motmetrics' Hungarian matching per frame; the distances are ours:
motmetrics 1.4.0's `iou_matrix` calls `np.asfarray`, gone in numpy 2). The count error is
|tracks of the scored labels - true objects| / true objects over the clip.
`ms/frame` is the tracker stage's own time (shots stage excluded).

Run alone: `cd tools && ../.venv/bin/python -m evalkit.identity` (prints the table);
`make eval` appends `section()` to docs/accuracy.md.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import motmetrics as mm
import numpy as np

from evalkit.metrics import iou
from evalkit.tracking import CLIPS, FPS, MATCH_IOU, REPO, Clip, frames_of

METRICS = ["idf1", "num_switches", "num_fragmentations", "mota"]


@dataclass
class Captured:
    """One frame of a clip after the detector steps, with its truth."""

    index: int
    shot: int
    image: np.ndarray
    detections: list
    objects: dict[str, list[float]]


def variants() -> dict[str, Callable[[], object]]:
    """Name -> a factory of the tracker to compare (fresh state per clip); a factory
    returning (tracker, True) also compensates camera motion in the stage."""
    from app.adapters.pipeline.tracking import Tracker

    return {
        "greedy (the tracker before)": lambda: Tracker(untracked=("motion",), assignment="greedy"),
        "Hungarian assignment": lambda: Tracker(untracked=("motion",), assignment="hungarian"),
        "greedy + re-find at the last observed box (OC-SORT)": lambda: Tracker(
            untracked=("motion",), refind_last_seen=True
        ),
        "greedy + camera-motion compensation (BoT-SORT)": lambda: (
            Tracker(untracked=("motion",)),
            True,
        ),
    }


def capture(clip: Clip) -> list[Captured]:
    """The clip's frames with the pipeline's detections (small clips: kept in memory)."""
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.domain.frames import Frame

    steps = PipelineCatalog.load(None).get(clip.pipeline).build_steps()
    out = []
    for index, (number, image, objects) in enumerate(frames_of(clip)):
        frame = Frame(index, round(index * 1000 / FPS), image)
        for step in steps:
            step.process(frame)
        out.append(Captured(index, number, image, copy.deepcopy(frame.detections or []), objects))
    return out


def replay(frames: list[Captured], make_tracker: Callable[[], object]) -> dict:
    """Run one tracker over captured frames; motmetrics' summary plus counts and speed."""
    from app.adapters.pipeline.shots import ShotStage
    from app.adapters.pipeline.tracking import TrackingStage
    from app.domain.frames import Frame

    made = make_tracker()
    tracker, compensate = made if isinstance(made, tuple) else (made, False)
    shots, tracking = ShotStage(), TrackingStage(tracker, compensate_camera=compensate)
    accumulator = mm.MOTAccumulator(auto_id=True)
    labels = {key.split("#", 1)[0] for f in frames for key in f.objects}
    truths: set[tuple[int, str]] = set()
    objects: dict[tuple[int, str], int] = {}
    track_ids: set[int] = set()
    spent = 0.0
    for captured in frames:
        frame = Frame(captured.index, round(captured.index * 1000 / FPS), captured.image)
        frame.detections = copy.deepcopy(captured.detections)
        shots.process(frame)
        started = time.perf_counter()
        tracking.process(frame)
        spent += time.perf_counter() - started
        hyps = [d for d in frame.detections or () if d.track_id and d.label in labels]
        track_ids |= {int(d.track_id or 0) for d in hyps}
        keys = list(captured.objects)
        truths |= {(captured.shot, key) for key in keys}
        distances = np.full((len(keys), len(hyps)), np.nan)
        for row, key in enumerate(keys):
            for col, detection in enumerate(hyps):
                overlap = iou(captured.objects[key], list(detection.bbox))
                if detection.label == key.split("#", 1)[0] and overlap >= MATCH_IOU:
                    distances[row, col] = 1 - overlap
        # motmetrics wants numeric ids: one number per (shot, object key).
        numbers = [objects.setdefault((captured.shot, k), len(objects) + 1) for k in keys]
        accumulator.update(numbers, [d.track_id for d in hyps], distances)
    summary = mm.metrics.create().compute(accumulator, metrics=METRICS, name="clip")
    result: dict[str, float] = {name: float(summary[name].iloc[0]) for name in METRICS}
    result["tracks"], result["objects"] = len(track_ids), len(truths)
    result["count_error"] = abs(len(track_ids) - len(truths)) / max(len(truths), 1)
    result["ms_per_frame"] = 1000 * spent / max(len(frames), 1)
    return result


def rows() -> list[dict]:
    made = variants()
    out = []
    for clip in CLIPS:
        frames = capture(clip)
        for name, make in made.items():
            out.append(
                {"clip": clip.name, "pipeline": clip.pipeline, "tracker": name}
                | replay(frames, make)
            )
    return out


def table(found: list[dict] | None = None) -> str:
    found = found if found is not None else rows()
    lines = [
        "| clip | pipeline | tracker | IDF1 | ID switches | fragmentations | MOTA "
        "| tracks / true objects | count error | tracker ms/frame |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in found:
        lines.append(
            f"| {r['clip']} | `{r['pipeline']}` | {r['tracker']} | {r['idf1']:.3f} "
            f"| {r['num_switches']:.0f} | {r['num_fragmentations']:.0f} | {r['mota']:.3f} "
            f"| {r['tracks']} / {r['objects']} | {r['count_error']:.0%} | {r['ms_per_frame']:.2f} |"
        )
    return "\n".join(lines)


def section() -> str:
    """The identity-metrics section of docs/accuracy.md (appended by tools/eval.py)."""
    return "\n".join(
        [
            "",
            "## tracks: identity metrics (motmetrics)",
            "",
            "The virtual-camera clips above, each clip's detections computed once and replayed",
            "through every tracker variant (same run, same detections). IDF1, identity",
            "switches, fragmentations and MOTA from `motmetrics` (IoU >= 0.5, same label);",
            "count error = |tracks of the scored labels - true objects| / true objects;",
            "ms/frame is the tracker stage alone.",
            "",
            table(),
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    print(table())
