"""The text pipeline on real pictures with text transcribed by eye (truth/text.json).

Two tables for docs/accuracy.md:

- **photographs**: each picture read once by the `text` step's OCR. A line of the truth
  is *read exactly* when the readings whose box centre lies inside it (its box widened
  by half its height each way; a reading near two lines goes to the nearer) give its
  words, left to right,, in reading order, compared
  case-insensitively on runs of letters, digits and `_` (punctuation between words
  aside). A reading whose centre lies in no line of the truth and no ignore region is
  a *false text*. The target counts lines at least 15 px high (>= 70% exact, <= 0.2
  false texts per picture); all lines are shown too.
- **sampled vs every frame**: a clip made of the same pictures, each held for
  `HOLD` frames 200 ms apart with fresh sensor-like noise on every frame (so no two
  frames are equal, as in a video; on one picture a logo appears halfway through),
  run through the step as a job runs it (reading at a new picture, then at most every
  `every_s` where the picture changed, lines carried in between) and with every frame
  read; each frame is scored as above, the OCR readings counted and the step's time
  measured.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evalkit.materials import load_photo

TRUTH = Path(__file__).parent / "truth" / "text.json"
MIN_HEIGHT = 15
HOLD = 8
STEP_MS = 200


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _inside(point: tuple[float, float], box: list[int], margin: float = 0.0) -> bool:
    x, y, w, h = box
    return x - margin <= point[0] <= x + w + margin and y - margin <= point[1] <= y + h + margin


@dataclass
class TextScore:
    exact: int = 0
    lines: int = 0
    exact_all: int = 0
    lines_all: int = 0
    false: int = 0
    frames: int = 0

    def add(self, other: TextScore) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def cells(self) -> str:
        share = self.exact / self.lines if self.lines else 0.0
        share_all = self.exact_all / self.lines_all if self.lines_all else 0.0
        per_frame = self.false / self.frames if self.frames else 0.0
        return (
            f"{self.exact} / {self.lines} = {share:.0%} | {self.exact_all} / {self.lines_all}"
            f" = {share_all:.0%} | {self.false} ({per_frame:.2f} per frame)"
        )


def score_frame(readings: list[tuple[str, list[int]]], truth: dict) -> TextScore:
    """One frame's readings (text, [x, y, w, h]) against one picture's truth."""
    score = TextScore(frames=1)
    centres = [(x + w / 2, y + h / 2) for _, (x, y, w, h) in readings]
    # Each reading belongs to the line nearest its centre (vertically, in line heights)
    # among those whose widened box holds it: lines of a page are closer than a margin.
    owner: dict[int, int] = {}
    for i, centre in enumerate(centres):
        near = [
            (abs(centre[1] - (box[1] + box[3] / 2)) / max(box[3], 1), j)
            for j, (_, box) in enumerate(truth["lines"])
            if _inside(centre, box, box[3] / 2)
        ]
        if near:
            owner[i] = min(near)[1]
    claimed = set(owner)
    for j, (text, box) in enumerate(truth["lines"]):
        mine = sorted((i for i, o in owner.items() if o == j), key=lambda i: readings[i][1][0])
        read = [w for i in mine for w in words(readings[i][0])]
        right = read == words(text)
        score.lines_all += 1
        score.exact_all += right
        if box[3] >= MIN_HEIGHT:
            score.lines += 1
            score.exact += right
    for i, centre in enumerate(centres):
        if i not in claimed and not any(_inside(centre, box) for box in truth["ignore"]):
            score.false += 1
    return score


def load(name: str) -> np.ndarray:
    """A BGR picture (scikit-image's page is grey)."""
    if name.startswith("skimage/"):
        import cv2
        import skimage.data

        image = getattr(skimage.data, name.split("/", 1)[1])()
        code = cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR
        return cv2.cvtColor(image, code)
    return load_photo(name)


def load_truth() -> dict[str, dict]:
    return {k: v for k, v in json.loads(TRUTH.read_text(encoding="utf-8")).items() if "/" in k}


def _step(every_s: float):
    from app.adapters.pipeline.steps.text import TextStep

    return TextStep(every_s=every_s)


def _readings(frame) -> list[tuple[str, list[int]]]:
    return [(d.text or "", list(d.bbox)) for d in frame.detections or []]


def photographs(truth: dict[str, dict]) -> list[tuple[str, TextScore, float]]:
    from app.domain.frames import Frame

    step = _step(0)
    rows = []
    for name, expected in truth.items():
        image = load(name)
        frame = Frame(0, 0, image)
        started = time.perf_counter()
        step.process(frame)
        rows.append((name, score_frame(_readings(frame), expected), time.perf_counter() - started))
    return rows


def _hidden(image: np.ndarray, expected: dict) -> tuple[np.ndarray, dict]:
    """The picture before its 'appears' line shows: that box inpainted, the line gone."""
    import cv2

    appears = expected["appears"]
    x, y, w, h = appears["cover"]
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[y : y + h, x : x + w] = 255
    lines = [line for i, line in enumerate(expected["lines"]) if i != appears["line"]]
    return cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA), {**expected, "lines": lines}


def _clip(truth: dict[str, dict]) -> Iterator[tuple[np.ndarray, dict]]:
    rng = np.random.default_rng(24)
    for name, expected in truth.items():
        shown = load(name)
        before = _hidden(shown, expected) if "appears" in expected else (shown, expected)
        for i in range(HOLD):
            hidden = "appears" in expected and i < expected["appears"]["after"]
            image, frame_truth = before if hidden else (shown, expected)
            noise = rng.normal(0, 3, image.shape)
            yield np.clip(image + noise, 0, 255).astype(np.uint8), frame_truth


def clip_run(truth: dict[str, dict], every_s: float) -> tuple[TextScore, int, float]:
    from app.domain.frames import Frame

    step = _step(every_s)
    total = TextScore()
    spent = 0.0
    for index, (image, expected) in enumerate(_clip(truth)):
        frame = Frame(index, index * STEP_MS, image)
        started = time.perf_counter()
        step.process(frame)
        spent += time.perf_counter() - started
        total.add(score_frame(_readings(frame), expected))
    return total, step.readings, spent


HEAD = (
    "| picture | lines >= 15 px read exactly | all lines read exactly | false texts "
    "| ms |\n|---|---|---|---|---|"
)


def section() -> str:
    truth = load_truth()
    rows = photographs(truth)
    total = TextScore()
    lines = [
        "\n## Text (OCR)\n",
        "PP-OCR (rapidocr's ONNX files, onnxruntime) through the `text` step on pictures "
        "that packages ship, lines transcribed by eye (`tools/evalkit/truth/text.json`; "
        "how lines are matched: `tools/evalkit/text.py`). Target: >= 70% of lines at "
        "least 15 px high read exactly, <= 0.2 false texts per frame.\n",
        HEAD,
    ]
    for name, score, seconds in rows:
        total.add(score)
        lines.append(f"| {name} | {score.cells()} | {seconds * 1000:.0f} |")
    lines.append(f"| **all** | {total.cells()} | |")
    lines += [
        "",
        f"Sampled against every frame: the same pictures as a clip, each held {HOLD} frames "
        f"{STEP_MS} ms apart with fresh noise on each frame (messi5's WEEKmedia logo "
        "appears after 4 frames: inpainted away before); every frame scored.\n",
        "| run | lines >= 15 px read exactly (frame-lines) | all lines | false texts "
        "| OCR readings | step time (s) |\n|---|---|---|---|---|---|",
    ]
    for label, every_s in (("sampled (every_s=1, default)", 1.0), ("every frame", 0.0)):
        score, readings, spent = clip_run(truth, every_s)
        lines.append(f"| {label} | {score.cells()} | {readings} | {spent:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python tools/evalkit/text.py: the section alone
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))
    print(section())
