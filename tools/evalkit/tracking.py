"""Identity switches per track, on clips where we know who is who.

Each clip moves a virtual camera over real photographs (evalkit.camera): every object
of a photograph's ground truth is one identity for the whole shot, so a tracker that
gives it two ids has switched. The truth is rendered with one key per object
("horse#1"), which keeps identities through frames where another object is hidden.

Per clip: the job's real frame loop in process (the pipeline's steps, then the shots
and tracker stages as the worker builds them), each detection matched to the truth
of its label at IoU >= 0.5 (greedy, best first); for every truth object, the track ids
of its matches in order. An identity switch (CLEAR-MOT's IDSW) is a match whose id
differs from the object's previous match; `ids/object` is 1.0 when every object kept
one id. A second shot of another photograph checks that no track crosses the cut.

Run alone: `cd tools && ../.venv/bin/python -m evalkit.tracking` (prints a table);
`make eval` appends `section()` to docs/accuracy.md.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evalkit.camera import Occluder, Shot, render
from evalkit.materials import load_photo
from evalkit.metrics import iou

REPO = Path(__file__).resolve().parents[2]
TRUTH = Path(__file__).with_name("truth") / "photos.json"
FPS = 30.0
SIZE = (640, 360)
MATCH_IOU = 0.5


@dataclass(frozen=True)
class ShotRecipe:
    photo: str
    labels: tuple[str, ...]  # the truth labels scored (others are left out)
    frames: int
    keys: list[tuple[float, float, float]]  # camera path: (centre x, centre y, width)
    occluder: tuple[str, tuple[int, int, int, int], tuple[int, int], tuple[int, int]] | None = None


@dataclass(frozen=True)
class Clip:
    name: str
    pipeline: str
    shots: tuple[ShotRecipe, ...]


# A narrow patch of another photograph crosses the frame in the clip's time: each
# object is hidden for well under a second, the contract's "brief occlusion".
CLIPS = (
    Clip(
        "horses: pan, a patch passes in front",
        "objects",
        (
            ShotRecipe(
                "darknet/horses.jpg",
                ("horse",),
                120,
                [(330, 290, 620), (450, 290, 620)],
                ("darknet/eagle.jpg", (300, 100, 60, 300), (-60, 20), (640, 20)),
            ),
        ),
    ),
    Clip(
        "person, dog, horse: zoom in, then a cut to the giraffe",
        "objects",
        (
            ShotRecipe(
                "darknet/person.jpg",
                ("person", "dog", "horse"),
                90,
                [(320, 230, 640), (300, 240, 480)],
            ),
            ShotRecipe(
                "darknet/giraffe.jpg", ("giraffe", "zebra"), 60, [(250, 250, 500), (280, 260, 420)]
            ),
        ),
    ),
    Clip(
        "astronaut: pan and zoom (faces)",
        "faces",
        (ShotRecipe("skimage/astronaut", ("face",), 90, [(200, 200, 500), (260, 180, 380)]),),
    ),
    Clip(
        "astronaut: pan (people)",
        "people",
        (ShotRecipe("skimage/astronaut", ("person",), 90, [(230, 260, 620), (280, 260, 560)]),),
    ),
)


def _truth(photo: str) -> dict:
    return json.loads(TRUTH.read_text())[photo]


def _identified(photo: str, labels: tuple[str, ...]) -> dict[str, list[list[float]]]:
    """The photograph's truth with one key per object: 'horse#0', 'horse#1', ..."""
    boxes = _truth(photo)["boxes"]
    return {f"{label}#{i}": [box] for label in labels for i, box in enumerate(boxes.get(label, []))}


def frames_of(clip: Clip):
    """(shot number, frame, {object key: box}) for every frame of the clip."""
    for number, recipe in enumerate(clip.shots):
        occluder = None
        if recipe.occluder is not None:
            source, (x, y, w, h), start, end = recipe.occluder
            occluder = Occluder(load_photo(source)[y : y + h, x : x + w].copy(), start, end)
        shot = Shot(
            load_photo(recipe.photo),
            _identified(recipe.photo, recipe.labels),
            recipe.frames,
            recipe.keys,
            occluder,
        )
        for frame, truth in render(shot, SIZE):
            objects = {key: boxes[0] for key, boxes in truth.items() if key != "ignore"}
            yield number, frame, objects


def match(objects: dict[str, list[float]], detections: list[dict]) -> dict[str, int]:
    """Object key -> track id of the detection matched to it (same label, IoU >= 0.5)."""
    pairs = []
    for key, box in objects.items():
        label = key.split("#", 1)[0]
        for index, detection in enumerate(detections):
            if detection["label"] == label and "track_id" in detection:
                score = iou(box, detection["bbox"])
                if score >= MATCH_IOU:
                    pairs.append((score, key, index))
    matched: dict[str, int] = {}
    used: set[int] = set()
    for _score, key, index in sorted(pairs, reverse=True):
        if key not in matched and index not in used:
            matched[key] = detections[index]["track_id"]
            used.add(index)
    return matched


def evaluate(clip: Clip) -> dict:
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.engine import analyse
    from app.adapters.pipeline.tracking import tracking_stages
    from app.domain.frames import Frame, FrameSink
    from app.domain.options import AnalysisOptions

    steps = PipelineCatalog.load(None).get(clip.pipeline).build_steps()
    stages = tracking_stages(clip.pipeline, AnalysisOptions())
    history: dict[tuple[int, str], list[tuple[int, int]]] = {}
    visible: dict[tuple[int, str], int] = {}
    shots_of_track: dict[int, set[int]] = {}
    truth_of: dict[int, tuple[int, dict[str, list[float]]]] = {}

    def frames() -> Iterator[Frame]:
        for index, (number, image, objects) in enumerate(frames_of(clip)):
            truth_of[index] = (number, objects)
            yield Frame(index, round(index * 1000 / FPS), image)

    class Matcher(FrameSink):
        """Which true object each finished frame's tracks landed on."""

        def add(self, frame: Frame) -> None:
            number, objects = truth_of.pop(frame.index)
            detections = [d.to_dict() for d in frame.detections or ()]
            for detection in detections:
                if "track_id" in detection:
                    shots_of_track.setdefault(detection["track_id"], set()).add(number)
            for key in objects:
                visible[(number, key)] = visible.get((number, key), 0) + 1
            for key, track_id in match(objects, detections).items():
                history.setdefault((number, key), []).append((frame.timestamp_ms, track_id))

    analyse(frames(), steps, stages, [Matcher()])
    # A switch after the object went unmatched for over a second is what the contract
    # asks for (a new id); one within a second is the tracker's mistake.
    gaps = [
        b[0] - a[0]
        for seen in history.values()
        for a, b in itertools.pairwise(seen)
        if a[1] != b[1]
    ]
    ids_per_object = [len({track for _, track in seen}) for seen in history.values()]
    return {
        "clip": clip.name,
        "pipeline": clip.pipeline,
        "objects": len(visible),
        "matched": sum(len(ids) for ids in history.values()) / max(sum(visible.values()), 1),
        "switches": len(gaps),
        "short_switches": sum(1 for gap in gaps if gap <= 1000 + 1000 / FPS),
        "ids_per_object": float(np.mean(ids_per_object)) if ids_per_object else 0.0,
        "tracks_across_cuts": sum(1 for shots in shots_of_track.values() if len(shots) > 1),
    }


def table(rows: list[dict] | None = None) -> str:
    """The markdown table for docs/accuracy.md."""
    rows = rows if rows is not None else [evaluate(clip) for clip in CLIPS]
    lines = [
        "| clip | pipeline | objects | frames matched | identity switches "
        "| of which within 1 s | ids per object | tracks across a cut |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['clip']} | `{row['pipeline']}` | {row['objects']} | {row['matched']:.0%} "
            f"| {row['switches']} | {row['short_switches']} | {row['ids_per_object']:.2f} "
            f"| {row['tracks_across_cuts']} |"
        )
    return "\n".join(lines)


def section() -> str:
    """The tracking section of docs/accuracy.md (appended by tools/eval.py)."""
    return "\n".join(
        [
            "",
            "## tracks: identity switches",
            "",
            "Virtual-camera clips of real photographs at 30 fps, run through the worker's",
            "frame loop (the pipeline's steps, then the shots and tracker stages). Every",
            "truth object is one identity for its shot; a detection matched to it (same",
            "label, IoU >= 0.5) should carry the id of its previous match. A switch after",
            "the object went unmatched for over a second is what the contract asks for (a",
            "new id); one within a second is the tracker's mistake. `frames matched` is the",
            "detector's share: identity can only be judged where it found the object.",
            "",
            table(),
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    print(table())
