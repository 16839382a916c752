"""The packaged Darknet files become an ONNX graph in memory whose detections are
cv2.dnn's on real photographs; what the converter does not know it refuses by name."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.models import darknet, yolo
from app.tests.unit.step_checks import photo

pytestmark = pytest.mark.unit


def _reference_rows(model: str, blob: np.ndarray) -> np.ndarray:
    net = yolo.load_yolo(model)
    net.setInput(blob)
    outputs = net.forward(net.getUnconnectedOutLayersNames())
    return np.concatenate([o.reshape(-1, o.shape[-1]) for o in outputs])


@pytest.mark.parametrize("model", sorted(yolo.MODELS))
@pytest.mark.parametrize(
    ("name", "size", "square"), [("astronaut", 416, True), ("chelsea", 640, False)]
)
def test_the_converted_graph_gives_cv2_dnns_rows_on_a_photograph(model, name, size, square):
    canvas, *_ = yolo.letterbox(photo(name), size, square)
    blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True)
    session, heads = yolo.yolo_session(model)
    rows = yolo.decode_maps(session.run(None, {"image": blob}), heads, *canvas.shape[1::-1])
    expected = _reference_rows(model, blob)
    assert rows.shape == expected.shape
    np.testing.assert_allclose(rows[:, :5], expected[:, :5], atol=1e-3)
    # Class scores: equal, except where float noise moves one across the 0.2 floor.
    close = np.abs(rows[:, 5:] - expected[:, 5:]) <= 1e-3
    near_floor = np.abs(expected[:, 5:] - 0.2) <= 1e-3
    near_floor |= np.abs(rows[:, 5:] - 0.2) <= 1e-3
    assert (close | near_floor).all()


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_detections_are_cv2_dnns_on_photographs(monkeypatch, name):
    detector = yolo.YoloDetector(size=416, coarse=224, model="yolov4-tiny")
    found = detector.detect(photo(name))

    def cv2_rows(maps, heads, in_w, in_h):  # the same pass, cv2.dnn's rows instead
        blob = np.asarray(cv2_rows.blob)
        return _reference_rows("yolov4-tiny", blob)

    real_run = detector._runner or yolo.yolo_session("yolov4-tiny")

    class Recording:
        def run(self, names, feed):
            cv2_rows.blob = feed["image"]
            return real_run[0].run(names, feed)

    detector._runner = (Recording(), real_run[1])
    monkeypatch.setattr(yolo, "decode_maps", cv2_rows)
    reference = detector.detect(photo(name))
    assert [(d.class_id, d.box) for d in found] == [(d.class_id, d.box) for d in reference]
    np.testing.assert_allclose([d.score for d in found], [d.score for d in reference], atol=1e-3)


def test_yolov3_tinys_stride_one_pool_keeps_the_grid():
    session, heads = yolo.yolo_session("yolov3-tiny")
    maps = session.run(None, {"image": np.zeros((1, 3, 416, 416), np.float32)})
    assert [m.shape for m in maps] == [(1, 255, 13, 13), (1, 255, 26, 26)]
    assert [len(h.anchors) for h in heads] == [3, 3]
    assert heads[1].anchors[0] == (23.0, 27.0)  # the corrected mask 1,2,3


_CFG = "[net]\nchannels=3\n[convolutional]\nfilters=2\nsize=1\nstride=1\npad=0\nactivation=linear\n"


def _weights(values: int) -> bytes:
    header = np.array([0, 2, 0], np.int32).tobytes() + np.zeros(1, np.int64).tobytes()
    return header + np.ones(values, np.float32).tobytes()


def test_a_tiny_network_converts_and_runs():
    graph = darknet.convert(_CFG + "[yolo]\nmask=0\nanchors=1,1\nclasses=1\n", _weights(2 + 6))
    assert graph.heads[0].output == "l0" and graph.heads[0].classes == 1


@pytest.mark.parametrize(
    ("cfg", "values", "message"),
    [
        (_CFG + "[shortcut]\nfrom=-1\n", 8, r"\[shortcut\]"),
        (_CFG.replace("linear", "mish"), 8, "mish"),
        (_CFG, 7, "shorter"),
        (_CFG, 9, "does not use"),
        ("[convolutional]\n", 0, r"\[net\]"),
    ],
)
def test_what_the_converter_does_not_know_is_refused_by_name(cfg, values, message):
    with pytest.raises(ValueError, match=message):
        darknet.convert(cfg, _weights(values))
