"""Quality step: brightness, contrast and sharpness move the way the image does."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.steps.quality import QualityStep
from app.tests.unit.scenes import astronaut
from app.tests.unit.step_checks import assert_plain_json, run_step

pytestmark = pytest.mark.unit


def quality(frame: np.ndarray, step: QualityStep | None = None) -> dict:
    result = run_step(step or QualityStep(), frame)
    assert_plain_json(result)
    assert set(result) == {"brightness", "contrast", "sharpness"}
    assert all(type(v) is float for v in result.values())
    return result


def test_a_brighter_frame_has_a_higher_brightness():
    frame = astronaut()
    values = [
        quality(cv2.convertScaleAbs(frame, alpha=1.0, beta=b))["brightness"] for b in (-60, 0, 60)
    ]
    assert values[0] < values[1] < values[2]


def test_blurring_lowers_sharpness():
    frame = astronaut()
    values = [
        quality(cv2.GaussianBlur(frame, (0, 0), s) if s else frame)["sharpness"] for s in (0, 1, 3)
    ]
    assert values[0] > values[1] > values[2]
    assert values[2] < 0.2 * values[0]


def test_a_flat_frame_has_no_contrast_and_no_sharpness():
    result = quality(np.full((240, 320, 3), 90, np.uint8))
    assert result["contrast"] == pytest.approx(0.0, abs=1e-6)
    assert result["sharpness"] == pytest.approx(0.0, abs=1e-6)
    assert result["brightness"] == pytest.approx(90.0, abs=0.5)


def test_more_contrast_reads_higher():
    frame = astronaut()
    low = cv2.convertScaleAbs(frame, alpha=0.5, beta=64)
    assert quality(low)["contrast"] < quality(frame)["contrast"]


def test_sharpness_is_measured_at_the_working_width_so_sizes_compare():
    frame = astronaut()
    big = cv2.resize(frame, (1024, 1024), interpolation=cv2.INTER_CUBIC)

    def ratio(max_width: int) -> float:
        step = QualityStep(max_width=max_width)
        return quality(big, step)["sharpness"] / quality(frame, step)["sharpness"]

    # The same picture at twice the size: far closer at one working width than at full size.
    assert abs(np.log(ratio(512))) < 0.5 * abs(np.log(ratio(0)))
