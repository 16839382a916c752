"""Motion step on in-memory frames with a known object path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.steps.base import downscale, scale_box, to_gray
from app.adapters.pipeline.steps.motion import MotionStep, full_frame_boxes, small_gray
from app.tests.unit.scenes import moving_shape_frames
from app.tests.unit.step_checks import (
    assert_detections,
    assert_plain_json,
    centre,
    inside,
    iou,
    run_step,
)

pytestmark = pytest.mark.unit

WARM_UP = 3  # frames before the first judged one


def run(step: MotionStep, frames: list[np.ndarray]) -> list[dict]:
    results = []
    for index, frame in enumerate(frames):
        result = run_step(step, frame, index)
        assert_plain_json(result)
        height, width = frame.shape[:2]
        assert_detections(result, {"motion"}, (width, height))
        assert 0.0 <= result["motion_ratio"] <= 1.0
        results.append(result)
    return results


def hit_rate(results: list[dict], truth: list, first: int) -> tuple[float, list[bool]]:
    """Share of frames from `first` on where some box overlaps the truth with IoU >= 0.5."""
    hits = [best_iou(r, t) >= 0.5 for r, t in zip(results[first:], truth[first:], strict=True)]
    return sum(hits) / len(hits), hits


def best_iou(result: dict, truth) -> float:
    return max((iou(d["bbox"], truth) for d in result["detections"]), default=0.0)


def test_frame_zero_reports_no_motion_and_a_zero_ratio():
    frames, _ = moving_shape_frames(2, lambda i: (20 + 8 * i, 50))
    first = run(MotionStep(), frames)[0]
    assert first == {"detections": [], "motion_ratio": 0.0}


def test_boxes_follow_a_textured_shape_on_a_diagonal_path():
    frames, truth = moving_shape_frames(40, lambda i: (10 + 6 * i, 20 + 4 * i))
    results = run(MotionStep(), frames)
    rate, hits = hit_rate(results, truth, WARM_UP)
    assert rate >= 0.9, hits


def test_a_flat_coloured_shape_is_boxed_whole_once_it_has_left_its_first_place():
    # Until a uniform shape has cleared the place it stood in frame 0 its inside looks
    # like the background model, so only from then on is the whole box expected.
    size, speed = 30, 10
    frames, truth = moving_shape_frames(28, lambda i: (10 + speed * i, 100), size, textured=False)
    results = run(MotionStep(), frames)
    cleared = size // speed + 1
    rate, hits = hit_rate(results, truth, cleared)
    assert rate >= 0.9, hits


def test_no_ghost_box_is_left_where_the_shape_started():
    # The background model starts with the shape in it, so the place it uncovers differs
    # from the model: MOG2 alone boxes that ghost, alone or merged with the shape's box.
    frames, truth = moving_shape_frames(40, lambda i: (10 + 4 * i, 100), size=36)
    results = run(MotionStep(), frames)
    for index in range(WARM_UP, len(frames)):
        assert results[index]["detections"], index
        for det in results[index]["detections"]:
            assert inside(centre(det["bbox"]), truth[index]), (index, det, truth[index])
            assert iou(det["bbox"], truth[index]) >= 0.5, (index, det, truth[index])


def test_a_static_noisy_scene_has_no_motion():
    frames, _ = moving_shape_frames(20, lambda i: (100, 100), noise=3.0)
    results = run(MotionStep(), frames)
    assert all(r["detections"] == [] and r["motion_ratio"] == 0.0 for r in results)


def test_boxes_are_in_full_frame_pixels_when_the_step_works_on_a_small_copy():
    frames, truth = moving_shape_frames(
        20, lambda i: (40 + 16 * i, 200), size=96, width=960, height=540
    )
    results = run(MotionStep(max_width=240), frames)
    rate, hits = hit_rate(results, truth, WARM_UP)
    assert rate >= 0.9, hits


def test_motion_ratio_is_the_moving_share_of_the_frame():
    frames, _ = moving_shape_frames(20, lambda i: (10 + 8 * i, 60), size=40)
    results = run(MotionStep(), frames)
    expected = 40 * 40 / (320 * 240)
    ratios = [r["motion_ratio"] for r in results[WARM_UP:]]
    assert all(0.5 * expected <= ratio <= 2.0 * expected for ratio in ratios), ratios


def test_each_instance_keeps_its_own_background():
    frames, _ = moving_shape_frames(10, lambda i: (10 + 8 * i, 60))
    first = MotionStep()
    run(first, frames)
    second = MotionStep()
    # A fresh step has not seen the first clip: its frame 0 is frame 0 again.
    assert run(second, frames[5:6]) == [{"detections": [], "motion_ratio": 0.0}]


@pytest.mark.parametrize(
    "options", [{"history": 0}, {"min_moving_fraction": 2.0}, {"colour": True}]
)
def test_bad_options_are_refused(options):
    with pytest.raises((TypeError, ValueError)):
        MotionStep(**options)


def test_the_cheap_grey_copy_is_the_averaged_one_within_a_grey_level():
    # Halving the colour frame before the grey conversion must give the picture
    # INTER_AREA gives from the full-size grey frame (the step's accuracy rests on it).
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (9, 9), 0)
    cheap, scale = small_gray(image, 320)
    reference, ref_scale = downscale(to_gray(image), 320)
    assert cheap.shape == reference.shape and scale == ref_scale
    assert int(np.abs(cheap.astype(int) - reference.astype(int)).max()) <= 1


@pytest.mark.parametrize("scale", [1.0, 2.5, 4.0, 1280 / 320])
def test_boxes_map_back_to_the_frame_as_scale_box_does(scale):
    boxes = [(0, 0, 3, 3), (10, 7, 5, 9), (315, 170, 5, 10), (1, 1, 1, 1)]
    expected = [scale_box(box, scale, 1280, 720) for box in boxes]
    assert full_frame_boxes(boxes, scale, 1280, 720) == expected
    assert full_frame_boxes([], scale, 1280, 720) == []
