"""People step.

What is covered: no photograph of a whole standing person ships in the installed
packages (scikit-image's cameraman and astronaut are cut off at the waist or thigh;
the HOG detector, trained on full-body pedestrians, finds no person in the cameraman and
only weak false windows, margin < 1, in the astronaut and rocket photos). So the
detector is checked on drawn human silhouettes, which it finds with a clear margin.
That proves the wiring (window size, scaling back to frame pixels, confidence mapping,
box tightening, non-maximum suppression) and that blank frames stay empty; it does not
measure recall or false positives on real footage.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.boxes import suppress
from app.adapters.pipeline.steps.base import logistic
from app.adapters.pipeline.steps.people import HogPeopleStep, tighten
from app.tests.unit.scenes import person_silhouette
from app.tests.unit.step_checks import (
    assert_detections,
    assert_plain_json,
    centre,
    inside,
    iou,
    run_step,
)

pytestmark = pytest.mark.unit


def people_in(frame: np.ndarray, step: HogPeopleStep | None = None) -> list[dict]:
    result = run_step(step or HogPeopleStep(), frame)
    assert_plain_json(result)
    return assert_detections(result, {"person"}, (frame.shape[1], frame.shape[0]))


@pytest.mark.parametrize("height", [100, 130])
def test_a_standing_figure_is_found_once_and_boxed_around_it(height):
    frame = np.full((240, 320, 3), 190, np.uint8)
    truth = person_silhouette(frame, 160, 30, height)
    people = people_in(frame)
    assert len(people) == 1, people
    assert inside(centre(people[0]["bbox"]), truth)
    assert iou(people[0]["bbox"], truth) >= 0.4, (people, truth)
    assert people[0]["confidence"] > 0.5


def test_a_figure_in_a_large_frame_is_found_on_the_small_copy_and_mapped_back():
    frame = np.full((720, 1280, 3), 190, np.uint8)
    truth = person_silhouette(frame, 900, 150, 260)
    people = people_in(frame, HogPeopleStep(max_width=640))
    assert len(people) == 1, people
    assert iou(people[0]["bbox"], truth) >= 0.4, (people, truth)


def test_two_figures_side_by_side_are_two_people():
    frame = np.full((240, 480, 3), 190, np.uint8)
    truths = [person_silhouette(frame, cx, 30, 110) for cx in (120, 340)]
    people = people_in(frame)
    assert len(people) == 2, people
    for truth in truths:
        assert any(inside(centre(p["bbox"]), truth) for p in people), (people, truth)


def test_blank_and_textured_frames_have_no_people():
    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    assert people_in(np.full((240, 320, 3), 128, np.uint8)) == []
    assert people_in(texture) == []
    assert people_in(np.zeros((100, 60, 3), np.uint8)) == []  # smaller than the window


def test_overlapping_boxes_keep_only_the_strongest():
    boxes = [(10, 10, 64, 128), (14, 12, 64, 128), (200, 10, 64, 128), (20, 30, 30, 60)]
    scores = [0.7, 0.9, 0.6, 0.8]
    # 1 beats 0 (IoU ~0.85); 3 lies inside 1; 2 is elsewhere and stays.
    assert suppress(boxes, scores, 0.45) == [1, 2]
    assert suppress([], [], 0.45) == []


def test_margins_map_to_confidences_monotonically():
    assert logistic(0.0) == 0.5
    assert logistic(-1000) == pytest.approx(0.0) and logistic(1000) == pytest.approx(1.0)
    assert logistic(-1) < logistic(0.5) < logistic(1) < logistic(3)


def test_the_detection_window_is_tightened_around_the_body():
    assert tighten((0, 0, 100, 200)) == pytest.approx((10, 14, 80, 160))


@pytest.mark.parametrize("options", [{"scale": 1.0}, {"win_stride": 0}, {"nms": 0.3}])
def test_bad_options_are_refused(options):
    with pytest.raises((TypeError, ValueError)):
        HogPeopleStep(**options)


class FakeHog:
    """Stands in for the HOG detector to feed the step overlapping raw windows."""

    def detectMultiScale(self, image, **options):
        boxes = np.array([[10, 10, 64, 128], [12, 14, 64, 128], [150, 20, 64, 128]])
        return boxes, np.array([[0.4], [2.0], [1.0]])


def test_the_step_suppresses_overlapping_windows_and_maps_their_margins():
    step = HogPeopleStep()
    step._hog = FakeHog()
    people = people_in(np.zeros((240, 320, 3), np.uint8), step)
    # Window (12, 14, 64, 128) tightened: x 18.4..69.6, y 22.96..125.36, rounded per edge.
    assert [p["bbox"] for p in people] == [[18, 23, 52, 102], [156, 29, 52, 102]]
    assert [p["confidence"] for p in people] == [round(logistic(2.0), 4), round(logistic(1.0), 4)]
