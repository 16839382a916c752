"""Figure 12: milliseconds per inference of each model on cv2.dnn and onnxruntime.

The same verified model bytes and the same input (a real photograph, letterboxed or
resized as the pipelines do) go through the network as cv2.dnn reads the file and as
the pipelines now run it (runtime.py sessions), on one thread each (cv2.setNumThreads(1),
intra-op 1), after one warm-up run; the median of the timed runs counts. Pre- and
post-processing are not timed: they are the same code either way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import onnx
import skimage.data

from app.adapters.pipeline.models import model_bytes, runtime, yolo
from benchkit.report import Row, Section, table


@dataclass(frozen=True)
class ModelTiming:
    model: str
    input_size: tuple[int, int]
    cv2_ms: float
    onnxruntime_ms: float


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: allocation and first-run kernels are not the steady cost
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _photo(width: int, height: int) -> np.ndarray:
    image = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _centerface(repeats: int) -> ModelTiming:
    width, height = 640, 352  # the faces pipeline's input on 720p
    blob = cv2.dnn.blobFromImage(_photo(width, height), 1.0, swapRB=True)
    net = cv2.dnn.readNetFromONNX(model_bytes("centerface.onnx"))

    def with_cv2() -> object:
        net.setInput(blob, "input.1")
        return net.forward(["537", "538", "539"])

    graph = onnx.load_from_string(model_bytes("centerface.onnx").tobytes())
    session = runtime.session_from_bytes(runtime.free_spatial_shape(graph).SerializeToString(), 1)
    on_ort = lambda: session.run(["537", "538", "539"], {"input.1": blob})  # noqa: E731
    return ModelTiming(
        "CenterFace", (width, height), _median_ms(with_cv2, repeats), _median_ms(on_ort, repeats)
    )


def _yolo(model: str, size: int, square: bool, repeats: int) -> ModelTiming:
    canvas, *_ = yolo.letterbox(_photo(1280, 720), size, square)
    blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True)
    net = yolo.load_yolo(model)
    names = net.getUnconnectedOutLayersNames()

    def with_cv2() -> object:
        net.setInput(blob)
        return net.forward(names)

    graph, _heads = yolo.onnx_graph(model)
    session = runtime.session_from_bytes(graph, 1)
    on_ort = lambda: session.run(None, {"image": blob})  # noqa: E731
    shape = (canvas.shape[1], canvas.shape[0])
    return ModelTiming(model, shape, _median_ms(with_cv2, repeats), _median_ms(on_ort, repeats))


def measure_runtimes(repeats: int = 15) -> list[ModelTiming]:
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return [
            _centerface(repeats),
            _yolo("yolov4-tiny", 640, False, repeats),  # people: 640x384 on 720p
            _yolo("yolov4-tiny", 416, True, repeats),
            _yolo("yolov3-tiny", 416, True, repeats),  # objects' fine pass
            _yolo("yolov3-tiny", 224, True, repeats),  # the coarse pass
        ]
    finally:
        cv2.setNumThreads(before)


def describe_runtimes(timings: list[ModelTiming]) -> tuple[list[Row], Section]:
    rows = [
        Row(
            f"12. {t.model} {t.input_size[0]}x{t.input_size[1]}, ms per inference (1 thread)",
            f"onnxruntime {t.onnxruntime_ms:.1f} vs cv2.dnn {t.cv2_ms:.1f}",
            "reported",
            None,
            f"{t.cv2_ms / t.onnxruntime_ms:.2f}x",
        )
        for t in timings
    ]
    detail = [
        [
            t.model,
            f"{t.input_size[0]}x{t.input_size[1]}",
            f"{t.cv2_ms:.1f}",
            f"{t.onnxruntime_ms:.1f}",
            "not built",
            f"{t.cv2_ms / t.onnxruntime_ms:.2f}x",
        ]
        for t in timings
    ]
    lines = [
        "The same verified bytes and input (scikit-image's astronaut photograph, prepared "
        "as the pipelines do) on one thread; median of the timed runs after a warm-up. "
        "The YOLOs are the Darknet files on cv2.dnn and their in-memory ONNX conversion "
        "on onnxruntime (identical rows within 1e-3, test_models_darknet.py); BlazeFace "
        "stays on cv2.dnn (TFLite files). int8 was not built (no quantised model ships).",
        "",
        *table(
            "model | input | cv2.dnn ms | onnxruntime fp32 ms | int8 ms | speed-up",
            detail,
        ),
    ]
    return rows, Section("12. Model runtimes: cv2.dnn against onnxruntime", lines)
