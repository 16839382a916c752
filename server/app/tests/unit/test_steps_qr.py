"""QR step: codes made with segno, pasted rotated and scaled into frames."""

from __future__ import annotations

import numpy as np
import pytest

from app.adapters.pipeline.steps.qr import QrStep, corners_box
from app.tests.unit.scenes import QUIET_ZONE, paste_rotated, qr_code, textured_background
from app.tests.unit.step_checks import assert_detections, assert_plain_json, iou, run_step

pytestmark = pytest.mark.unit

PAYLOADS = ["https://example.com/job/42", "HELLO-QR", "grüße ✓ 123", "0123456789012345"]


def codes_in(frame: np.ndarray, step: QrStep | None = None) -> list[dict]:
    result = run_step(step or QrStep(), frame)
    assert_plain_json(result)
    codes = assert_detections(result, {"qr"}, (frame.shape[1], frame.shape[0]))
    assert all(type(c["text"]) is str and c["text"] for c in codes)
    return codes


@pytest.mark.parametrize(
    ("module", "angles"), [(3, (0, 20)), (4, (-30, 12)), (6, (45, -8)), (8, (5, 30))]
)
def test_two_rotated_codes_in_one_frame_decode_exactly(module, angles):
    frame = textured_background(640, 400)
    texts = PAYLOADS[module % 2 :][:2]
    truths = [
        paste_rotated(frame, qr_code(text, module), centre, angle, QUIET_ZONE * module)
        for text, centre, angle in zip(texts, [(170, 200), (470, 200)], angles, strict=True)
    ]
    codes = codes_in(frame)
    assert sorted(c["text"] for c in codes) == sorted(texts)
    for text, truth in zip(texts, truths, strict=True):
        box = next(c["bbox"] for c in codes if c["text"] == text)
        assert iou(box, truth) >= 0.85, (text, box, truth)


def test_four_codes_of_different_sizes_decode_in_a_720p_frame():
    frame = textured_background(1280, 720)
    places = [((200, 200), 4, 10), ((600, 220), 6, -25), ((1000, 250), 8, 40), ((640, 560), 5, 0)]
    for text, (centre, module, angle) in zip(PAYLOADS, places, strict=True):
        paste_rotated(frame, qr_code(text, module), centre, angle)
    assert sorted(c["text"] for c in codes_in(frame)) == sorted(PAYLOADS)


def test_a_damaged_code_is_not_reported():
    frame = textured_background(320, 240)
    code = qr_code("cannot be read", 4)
    h, w = code.shape
    code[h // 3 : 2 * h // 3, w // 4 : 3 * w // 4] = 0  # a third of the data blacked out
    paste_rotated(frame, code, (160, 120), 0)
    assert codes_in(frame) == []


def test_frames_without_codes_give_an_empty_list():
    assert codes_in(textured_background(640, 360)) == []
    assert codes_in(np.full((240, 320, 3), 255, np.uint8)) == []


def test_the_box_is_the_axis_aligned_box_of_the_corners():
    corners = np.array([[[10.2, 5.0], [30.0, 4.4], [31.6, 25.0], [9.9, 26.0]]])
    assert corners_box(corners) == [9, 4, 23, 22]
    assert corners_box(corners, 100, 50) == [109, 54, 23, 22]


@pytest.mark.parametrize("options", [{"margin": -1}, {"detector": "classic"}])
def test_bad_options_are_refused(options):
    with pytest.raises((TypeError, ValueError)):
        QrStep(**options)
