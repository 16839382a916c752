"""A face's signature: dlib's 128-number face descriptor (a ResNet trained with a metric
loss, Davis King, CC0; the files ship inside `face_recognition_models`), run by the
`dlib-bin` wheel. Two signatures of one person lie closer than about 0.6 (Euclidean) on
photographs; the distance the persons stage groups at is chosen on the eval.

Steps: dlib's 5-point shape predictor places eyes and nose inside the detector's box,
the face is cut out aligned to 150x150 (padding 0.25, dlib's default), and the network
maps it to the signature (~80 ms per face on one core here). dlib reads models only from
a file name: the bytes checked by `model_bytes` are written to a private temporary file
that dlib reads once and that is removed at once, so what runs is what was checked.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

import cv2
import numpy as np

from app.adapters.pipeline.models import model_bytes

_LOCK = threading.Lock()
_models: tuple[Any, Any] | None = None
SIGNATURE_SIZE = 128


def _load(key: str, build: Any) -> Any:
    data = model_bytes(key)
    handle, path = tempfile.mkstemp(suffix=".dat")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.tobytes())
        return build(path)
    finally:
        os.unlink(path)


def _dlib_models() -> tuple[Any, Any]:
    """The shape predictor and the signature network, built once per process."""
    global _models
    with _LOCK:
        if _models is None:
            import dlib  # a native wheel: imported only by a worker that signs faces

            _models = (
                _load("dlib-shape-5.dat", dlib.shape_predictor),
                _load("dlib-face-signature.dat", dlib.face_recognition_model_v1),
            )
        return _models


def face_signature(image: np.ndarray, box: list[int] | tuple[int, ...]) -> np.ndarray:
    """The 128-number signature (float32) of the face in `box` ([x, y, w, h], frame
    pixels) of a BGR frame."""
    import dlib

    shape_predictor, network = _dlib_models()
    x, y, w, h = (int(v) for v in box)
    # Only the face and a margin go through the colour conversion, not the whole frame.
    height, width = image.shape[:2]
    margin = max(w, h)
    x0, y0 = max(x - margin, 0), max(y - margin, 0)
    x1, y1 = min(x + w + margin, width), min(y + h + margin, height)
    rgb = np.ascontiguousarray(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2RGB))
    rect = dlib.rectangle(x - x0, y - y0, x - x0 + w, y - y0 + h)
    with _LOCK:
        shape = shape_predictor(rgb, rect)
        descriptor = network.compute_face_descriptor(rgb, shape)
    return np.asarray(descriptor, dtype=np.float32)
