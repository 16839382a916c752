"""Text in a frame: PP-OCR detection (DB) and recognition (CTC), the ONNX files that ship
inside the `rapidocr` wheel (Apache-2.0), run on onnxruntime with our own small pre- and
post-processing (rapidocr's own code pulls pyclipper, shapely, omegaconf and more).

What the networks need, from rapidocr 3.10's `ch_ppocr_det` / `ch_ppocr_rec` code:
- detection: BGR, `(x / 255 - 0.5) / 0.5`, channels first, each side a multiple of 32;
  out comes a text-probability map of the input's size. A pixel is text above 0.3
  (dilated 2x2), each connected region's minimum-area rectangle is kept when the map's
  mean inside it is at least 0.5 and its short side at least 3 px, then grown
  ("unclipped") by `area * 1.6 / perimeter` on every side. rapidocr grows the polygon
  with pyclipper (round joins) and takes the minimum-area rectangle again: for a
  rectangle that is exactly the rectangle widened by that distance each way, so no
  polygon library is needed here;
- recognition: each line cut out of the frame along its rectangle (perspective warp,
  cubic, replicated border), resized to 48 px high keeping its aspect ratio, same
  normalisation, padded with zeros to the widest line of its batch (at least 320 px);
  out come per-column character probabilities. CTC greedy decoding: the best class per
  column, repeats merged, class 0 (blank) dropped; the dictionary is the model's own
  `character` metadata (18,708 characters) with the blank in front and a space at the
  end. A line's confidence is the mean probability of its characters. rapidocr drops
  lines under 0.5 (`text_score`); the default here is 0.8 (VIDEO_JOBS_TEXT_MIN_SCORE,
  why: settings.py), and so is a reading of one or two characters whose box covers over
  a quarter of the picture (TEXTURE_AREA, below).

Input size: rapidocr scales the short side up to 736 px, which makes a 720p frame
1312x736 (~0.6 s here). Video text worth reading is rarely smaller than 15 px, so the
frame is scaled for its long side to be `det_side` (960 by default; small images are
enlarged at most 2x). Not done: the 180-degree orientation classifier (upside-down text
is rare in video).
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.adapters.pipeline.models import model_bytes, runtime

DET_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6
MIN_SIDE = 3
MAX_CANDIDATES = 1000
REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_BATCH = 6
MAX_UPSCALE = 2.0
# A "line" of at most two characters whose box covers over a quarter of the picture is a
# texture the detector took for text: on the ~90 pictures opencv-doc and darknet ship,
# a baboon's fur, a cartoon fish, a logo's rings and a field of horses each gave one
# (read as 'g', 'OH', 'C', 'CA' at 0.55-0.84), and no real text did.
TEXTURE_AREA = 0.25
TEXTURE_CHARS = 2

_LOCK = threading.Lock()


@functools.cache
def _sessions(threads: int) -> tuple[Any, Any, list[str]]:
    """Both sessions and the dictionary, built once per process (a session is ~30 MB and
    takes a few hundred ms to build; onnxruntime runs one from several threads)."""
    with _LOCK:
        # The verified bytes, read at a job's first frame, never by the API.
        det = runtime.session_for("ppocr-det.onnx", threads or None)
        rec = runtime.session_for("ppocr-rec.onnx", threads or None)
    characters = ["", *rec.get_modelmeta().custom_metadata_map["character"].splitlines(), " "]
    return det, rec, characters


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels (axis-aligned)
    quad: np.ndarray  # the rotated rectangle's 4 corners, clockwise from top-left


def normalise(image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 -> float32 3xHxW in -1..1, as both networks were trained."""
    return ((image.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)


def det_input_size(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) of the detector's input: the long side scaled to `side` (never
    enlarged more than MAX_UPSCALE), each side rounded to a multiple of 32."""
    ratio = min(side / max(width, height, 1), MAX_UPSCALE)
    return (
        max(32, round(width * ratio / 32) * 32),
        max(32, round(height * ratio / 32) * 32),
    )


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four corners as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1], kind="stable")]
    top_right, bottom_right = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)


def region_score(prob: np.ndarray, quad: np.ndarray) -> float:
    """Mean text probability inside `quad` (rapidocr's "fast" score)."""
    h, w = prob.shape
    x0 = int(np.clip(np.floor(quad[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(quad[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(quad[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(quad[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (quad - np.array([x0, y0], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted.reshape(-1, 1, 2)], (1,))
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def unclip(rect: tuple[Any, Any, float]) -> tuple[Any, Any, float]:
    """A minimum-area rectangle grown by area * UNCLIP_RATIO / perimeter on every side."""
    (cx, cy), (rw, rh), angle = rect
    distance = (rw * rh) * UNCLIP_RATIO / max(2.0 * (rw + rh), 1e-6)
    return (cx, cy), (rw + 2 * distance, rh + 2 * distance), angle


def boxes_from_map(prob: np.ndarray, out_w: int, out_h: int) -> list[tuple[np.ndarray, float]]:
    """Text rectangles (4 corners in output pixels, ordered) and scores from a
    probability map (H x W, the detector's input size), scaled to out_w x out_h."""
    height, width = prob.shape
    mask = cv2.dilate((prob > DET_THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found: list[tuple[np.ndarray, float]] = []
    for contour in contours[:MAX_CANDIDATES]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < MIN_SIDE:
            continue
        score = region_score(prob, cv2.boxPoints(rect))
        if score < BOX_THRESHOLD:
            continue
        grown = unclip(rect)
        if min(grown[1]) < MIN_SIDE + 2:
            continue
        quad = cv2.boxPoints(grown)
        quad[:, 0] = np.clip(np.round(quad[:, 0] / width * out_w), 0, out_w - 1)
        quad[:, 1] = np.clip(np.round(quad[:, 1] / height * out_h), 0, out_h - 1)
        quad = order_quad(quad)
        if np.linalg.norm(quad[0] - quad[1]) <= 3 or np.linalg.norm(quad[0] - quad[3]) <= 3:
            continue
        found.append((quad, score))
    return found


def crop_line(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The line's rectangle cut out upright; a tall one (vertical text) turned."""
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(
        image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if crop.shape[0] >= 1.5 * crop.shape[1]:
        crop = np.rot90(crop)
    return crop


def rec_batch(crops: list[np.ndarray]) -> np.ndarray:
    """N x 3 x 48 x W: each crop 48 px high at its aspect ratio, zero-padded to the
    widest (W at least 320)."""
    ratio = max([REC_MIN_WIDTH / REC_HEIGHT] + [c.shape[1] / max(c.shape[0], 1) for c in crops])
    width = int(REC_HEIGHT * ratio)
    batch = np.zeros((len(crops), 3, REC_HEIGHT, width), dtype=np.float32)
    for i, crop in enumerate(crops):
        resized_w = min(width, math.ceil(REC_HEIGHT * crop.shape[1] / max(crop.shape[0], 1)))
        resized = cv2.resize(crop, (max(resized_w, 1), REC_HEIGHT))
        batch[i, :, :, : resized.shape[1]] = normalise(resized)
    return batch


def ctc_decode(probs: np.ndarray, characters: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC over N x T x C class probabilities: per column the best class,
    repeats merged, blanks (class 0) dropped; (text, mean probability of its
    characters), 0.0 for an empty line. `characters[0]` is the blank."""
    best = probs.argmax(axis=2)
    best_p = probs.max(axis=2)
    out = []
    for index, prob in zip(best, best_p, strict=True):
        keep = np.ones(len(index), dtype=bool)
        keep[1:] = index[1:] != index[:-1]
        keep &= index != 0
        text = "".join(characters[i] for i in index[keep])
        out.append((text, float(prob[keep].mean()) if keep.any() else 0.0))
    return out


class TextReader:
    """Reads the lines of text in a BGR frame: `det_side` detector input's long side,
    `min_score` least recognition confidence kept, `threads` onnxruntime intra-op
    threads (0 = the worker's inference thread count, models/runtime.py). Sessions
    are built at the first frame, once per process (the API, which builds steps to
    check its catalog, never loads them)."""

    def __init__(self, det_side: int = 960, min_score: float = 0.8, threads: int = 0) -> None:
        if not 64 <= int(det_side) <= 4096:
            raise ValueError("det_side must be within 64..4096")
        if not 0.0 <= float(min_score) < 1.0:
            raise ValueError("min_score must be within 0..1")
        self.det_side, self.min_score, self.threads = int(det_side), float(min_score), int(threads)
        self._det: Any = None
        self._rec: Any = None
        self._characters: list[str] = []

    def check_files(self) -> None:
        """Read and hash-check both model files now (ModelFileError when one is bad)."""
        model_bytes("ppocr-det.onnx")
        model_bytes("ppocr-rec.onnx")

    def _sessions(self) -> tuple[Any, Any]:
        if self._det is None:
            self._det, self._rec, self._characters = _sessions(self.threads)
        return self._det, self._rec

    def detect(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        det, _ = self._sessions()
        height, width = image.shape[:2]
        in_w, in_h = det_input_size(width, height, self.det_side)
        small = cv2.resize(image, (in_w, in_h))
        (prob,) = det.run(None, {det.get_inputs()[0].name: normalise(small)[None]})
        return boxes_from_map(prob[0, 0], width, height)

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        _, rec = self._sessions()
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = np.argsort([c.shape[1] / max(c.shape[0], 1) for c in crops], kind="stable")
        for start in range(0, len(order), REC_BATCH):
            chunk = [int(i) for i in order[start : start + REC_BATCH]]
            (probs,) = rec.run(
                None, {rec.get_inputs()[0].name: rec_batch([crops[i] for i in chunk])}
            )
            for i, decoded in zip(chunk, ctc_decode(probs, self._characters), strict=True):
                results[i] = decoded
        return results

    def read(self, image: np.ndarray) -> list[TextLine]:
        """The lines read, top to bottom then left to right."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        regions = self.detect(image)
        if not regions:
            return []
        crops = [crop_line(image, quad) for quad, _ in regions]
        lines = []
        for (quad, _), (text, score) in zip(regions, self.recognise(crops), strict=True):
            text = " ".join(text.split())
            if not text or score < self.min_score:
                continue
            x0, y0 = np.floor(quad.min(axis=0)).astype(int)
            x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
            box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
            area = box[2] * box[3] / max(image.shape[0] * image.shape[1], 1)
            if len(text.replace(" ", "")) <= TEXTURE_CHARS and area > TEXTURE_AREA:
                continue
            lines.append(TextLine(text, score, box, quad))
        lines.sort(key=lambda line: (line.box[1] // 10, line.box[0]))
        return lines
