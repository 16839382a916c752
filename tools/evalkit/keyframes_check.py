"""Keyframes on the eval's cut clips: one per shot, never a blank frame where the shot
has a picture. Runs the job's shots stage and summary sink (in memory) on every frame.

    PYTHONPATH=server:tools python -m evalkit.keyframes_check
"""

from __future__ import annotations

import json
import uuid

from app.adapters.exports.shot_pictures import ShotPicturesSink
from app.adapters.exports.summary import SummarySink
from app.adapters.pipeline.engine import analyse
from app.adapters.pipeline.shots import ShotStage
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.frames import Frame, FrameSink
from app.domain.model import summary_key
from evalkit.clips import all_clips
from evalkit.runners import _frames


class _Looks(FrameSink):
    """Per shot: whether any frame has a picture; per frame: blank or not."""

    def __init__(self) -> None:
        self.has_picture: dict[int, bool] = {}
        self.blank: dict[int, bool] = {}

    def add(self, frame: Frame) -> None:
        blank = bool(frame.look and frame.look.blank)
        self.blank[frame.index] = blank
        self.has_picture[frame.shot] = self.has_picture.get(frame.shot, False) or not blank


def check(clip) -> dict:
    storage, job = InMemoryStorage(), uuid.uuid4()
    pictures, looks = ShotPicturesSink(storage, job), _Looks()
    summary = SummarySink(storage, job, pictures)
    analyse(_frames(clip), [], [ShotStage()], [pictures, summary, looks])
    summary.close({"fps": clip.fps or 25})
    shots = json.loads(storage.load_file(summary_key(job)))["shots"]
    with_keyframe = [s for s in shots if s.get("keyframe")]
    black = [
        s["index"]
        for s in with_keyframe
        if looks.has_picture[s["index"]] and looks.blank[s["keyframe"]["frame_index"]]
    ]
    return {"clip": clip.name, "shots": len(shots), "keyframes": len(with_keyframe), "black": black}


def table() -> list[str]:
    lines = [
        "| clip | shots | keyframes | black keyframe in a shot with a picture |",
        "|---|---|---|---|",
    ]
    for clip in all_clips()["cuts"]:
        row = check(clip)
        lines.append(
            f"| {row['clip']} | {row['shots']} | {row['keyframes']} | {len(row['black'])} |"
        )
    return lines


def section() -> str:
    """The keyframe check as a section of docs/accuracy.md (`make eval`)."""
    lines = [
        "",
        "## Keyframes: one per shot, never black where the shot has a picture",
        "",
        "The cut clips' shots as the worker finds them (the shots stage over every frame),",
        "each shot's keyframe as the worker picks it; a keyframe is black when the frame",
        "it names is blank (grey mean <= 16 or every channel's spread <= 5).",
        "",
        *table(),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    print("\n".join(table()))


if __name__ == "__main__":
    main()
