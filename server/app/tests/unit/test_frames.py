"""The thumbnail drawing helpers: boxes land where the results say, scaled with the
image, and malformed detections (from a custom pipeline) are skipped, not fatal."""

from __future__ import annotations

import numpy as np
import pytest

from app.api.routes.job_frames import downscale, draw_detections

pytestmark = pytest.mark.unit


def blank(width: int = 320, height: int = 240) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


def test_downscale_shrinks_to_the_width_and_never_enlarges():
    image, scale = downscale(blank(), 160)
    assert image.shape == (120, 160, 3) and scale == 0.5
    same, scale = downscale(blank(), 480)
    assert same.shape == (240, 320, 3) and scale == 1.0


def test_a_box_is_drawn_on_its_outline_only():
    image = blank()
    drawn = draw_detections(image, [{"label": "", "bbox": [100, 80, 40, 30]}], 1.0)
    assert drawn == 1
    painted = image.any(axis=2)
    assert painted[80, 100:140].all() and painted[109, 100:140].all()  # top and bottom
    assert painted[80:110, 100].all() and painted[80:110, 139].all()  # left and right
    assert not painted[85:105, 105:135].any()  # the inside stays clear
    assert not painted[110:].any() and not painted[:, 140:].any()  # nothing past the box
    assert not painted[:60].any()  # the caption sits just above it


def test_boxes_follow_the_scale_of_a_downscaled_image():
    image = blank(160, 120)
    draw_detections(image, [{"label": "", "bbox": [100, 80, 40, 30]}], 0.5)
    rows, cols = np.nonzero(image.any(axis=2))
    # the outline of [50, 40, 20, 15]: rows 40..54, columns 50..69 (the caption above)
    assert rows.max() == 54 and cols.min() == 50
    box = image[40:55, 50:70].any(axis=2)
    assert box[0].all() and box[-1].all() and box[:, 0].all() and box[:, -1].all()


def test_the_label_and_confidence_are_written_above_the_box():
    image = blank()
    draw_detections(image, [{"label": "face", "bbox": [100, 80, 40, 30], "confidence": 0.9}], 1)
    assert image[60:80, 100:160].any(), "no label above the box"


@pytest.mark.parametrize(
    "detections",
    [
        None,
        "boxes",
        [{"label": "x"}],
        [{"label": "x", "bbox": [1, 2, 3]}],
        [{"label": "x", "bbox": ["a", 2, 3, 4]}],
        ["not a dict"],
    ],
)
def test_malformed_detections_are_skipped(detections):
    image = blank()
    assert draw_detections(image, detections, 1.0) == 0
    assert not image.any()
