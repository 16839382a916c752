"""Checks every step test shares: plain-JSON results, the detection shape, box overlap,
and the real photographs scikit-image ships."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np
import skimage.data

from app.domain.frames import Frame

PLAIN_SCALARS = (str, int, float, bool, type(None))


def assert_plain_json(value: Any, where: str = "result") -> None:
    """Only dict (str keys) / list / str / int / float / bool / None, no NaN or infinity.

    Exact types, because numpy scalars subclass Python's (np.float64 is a float) yet
    are not what a per-frame result may hold."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r} is {type(key).__name__}, not str"
            assert_plain_json(item, f"{where}.{key}")
    elif kind is list:
        for i, item in enumerate(value):
            assert_plain_json(item, f"{where}[{i}]")
    else:
        assert kind in PLAIN_SCALARS, f"{where}: {value!r} is {kind.__name__}, not plain JSON"
        if kind is float:
            assert math.isfinite(value), f"{where}: {value!r} is not a finite number"


def assert_detections(result: dict[str, Any], labels: Iterable[str], size: tuple[int, int]):
    """Every detection has the contract's shape, a known label and a box inside the frame."""
    width, height = size
    allowed = set(labels)
    assert type(result.get("detections")) is list, "result has no detections list"
    for det in result["detections"]:
        assert det["label"] in allowed, det
        x, y, w, h = det["bbox"]
        assert all(type(v) is int for v in det["bbox"]) and len(det["bbox"]) == 4, det
        assert x >= 0 and y >= 0 and w > 0 and h > 0, det
        assert x + w <= width and y + h <= height, det
        assert type(det["confidence"]) is float and 0.0 <= det["confidence"] <= 1.0, det
    return [d for d in result["detections"] if d["label"] in allowed]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Written again here (not imported from the steps) so the tests check the code."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / (aw * ah + bw * bh - iw * ih)


def centre(box: Sequence[float]) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


def inside(point: tuple[float, float], box: Sequence[float]) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def run_step(step: Any, image: np.ndarray, index: int = 0) -> dict[str, Any]:
    """Run one step on one frame (at 30 fps) and return the frame's result as the
    results document would hold it."""
    frame = Frame(index, round(index * 1000 / 30), image)
    step.process(frame)
    return frame.item()["result"]


def photo(name: str) -> np.ndarray:
    """A scikit-image photograph (astronaut, chelsea, coffee...) as a BGR frame."""
    return cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)


def detections_of(step: Any, frame: np.ndarray, labels: Iterable[str], index: int = 0) -> list:
    """Run one step on one frame; its result must be plain JSON and every detection
    well formed, labelled from `labels` and inside the frame."""
    result = run_step(step, frame, index)
    assert_plain_json(result)
    return assert_detections(result, labels, (frame.shape[1], frame.shape[0]))
