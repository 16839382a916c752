"""Captions on the annotated video and frame images: sized to the frame, inside it, never
on each other."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.adapters.exports.annotator import Rect, colour, draw
from app.domain.detections import Detection

pytestmark = pytest.mark.unit


def face(x: int, y: int, w: int, h: int, track_id: int) -> Detection:
    return Detection("face", [x, y, w, h], 0.93, track_id=track_id)


def inside(spot: Rect, width: int, height: int) -> bool:
    return spot.x >= 0 and spot.y >= 0 and spot.x + spot.w <= width and spot.y + spot.h <= height


def test_captions_of_a_crowd_at_1080p_are_small_apart_and_inside_the_frame() -> None:
    # A 1080p frame is drawn at 1280x720 (scale 2/3); five faces in a row, touching.
    image = np.zeros((720, 1280, 3), np.uint8)
    crowd = [face(300 + 150 * i, 400, 140, 160, i + 1) for i in range(5)]
    crowd += [face(1700, 900, 220, 180, 9)]  # in the bottom-right corner
    spots = draw(image, crowd, 2 / 3)
    assert len(spots) == len(crowd)
    for spot in spots:
        assert inside(spot, 1280, 720)
        assert 0.015 * 720 <= spot.h <= 0.035 * 720  # 11-25 px, not 40
    for a, b in itertools.combinations(spots, 2):
        assert not a.overlaps(b)


def test_a_caption_under_a_box_at_the_bottom_edge_stays_in_the_frame() -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    whole = face(0, 0, 640, 360, 4)  # no room above, none below
    (spot,) = draw(image, [whole], 1.0)
    assert inside(spot, 640, 360)
    filled = np.all(image[spot.y : spot.y + spot.h, spot.x : spot.x + spot.w] == colour(whole), -1)
    assert filled.mean() > 0.5  # the caption's background is drawn, not cut off


def test_a_caption_sits_above_its_box_when_there_is_room() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    (spot,) = draw(image, [face(100, 200, 80, 80, 1)], 1.0)
    assert spot.y + spot.h == 200 and spot.x == 100
