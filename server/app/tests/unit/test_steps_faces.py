"""Faces step: the astronaut photograph that ships with scikit-image is the ground truth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.adapters.pipeline.steps.faces import HaarFacesStep, last_stage_range, resolve_cascade
from app.tests.unit.scenes import ASTRONAUT_FACE, astronaut
from app.tests.unit.step_checks import centre, detections_of, inside

pytestmark = pytest.mark.unit


def faces_in(frame: np.ndarray, step: HaarFacesStep | None = None) -> list[dict]:
    return detections_of(step or HaarFacesStep(), frame, {"face"})


def test_the_astronauts_face_is_found_where_it_is():
    faces = faces_in(astronaut())
    assert len(faces) == 1, faces
    assert inside(centre(faces[0]["bbox"]), ASTRONAUT_FACE), faces
    _, _, w, h = faces[0]["bbox"]
    assert 60 <= w <= 130 and 60 <= h <= 130, faces  # a face-sized box, not the whole head


def test_boxes_are_mapped_back_when_the_frame_is_searched_small():
    big = cv2.resize(astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    faces = faces_in(big, HaarFacesStep(max_width=512))
    assert len(faces) == 1, faces
    fx, fy, fw, fh = ASTRONAUT_FACE
    assert inside(centre(faces[0]["bbox"]), (2 * fx, 2 * fy, 2 * fw, 2 * fh)), faces


def test_frames_without_faces_give_an_empty_list():
    rng = np.random.default_rng(0)
    flat = np.full((240, 320, 3), 127, np.uint8)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (0, 0), 2)
    assert faces_in(flat) == []
    assert faces_in(texture) == []


def test_confidence_maps_the_last_stage_margin_into_the_upper_half():
    step = HaarFacesStep()
    threshold, largest = last_stage_range(resolve_cascade("haarcascade_frontalface_alt2.xml"))
    assert threshold < largest
    assert step.confidence(threshold) == pytest.approx(0.5)
    assert step.confidence(largest) == pytest.approx(1.0)
    assert step.confidence((threshold + largest) / 2) == pytest.approx(0.75)
    assert step.confidence(threshold - 10) == 0.5 and step.confidence(largest + 10) == 1.0
    face = faces_in(astronaut(), step)[0]
    assert 0.5 < face["confidence"] < 1.0


@pytest.mark.parametrize(
    "options",
    [{"cascade": "no_such_cascade.xml"}, {"scale_factor": 1.0}, {"min_neighbours": 3}],
)
def test_bad_options_are_refused(options):
    with pytest.raises((TypeError, ValueError)):
        HaarFacesStep(**options)
