"""Keyframe choice, black segments, and the summary sink's keyframe files."""

from __future__ import annotations

import json
import uuid

import cv2
import numpy as np
import pytest

from app.adapters.exports.keyframes import KeyframePicker
from app.adapters.exports.shot_pictures import ShotPicturesSink
from app.adapters.exports.summary import SummarySink
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.frames import Frame, FrameLook
from app.domain.model import shot_keyframe_key, summary_key
from app.domain.summary import BlackSegments

pytestmark = pytest.mark.unit


def frame(index: int, shot: int, sharpness: float, blank: bool = False) -> Frame:
    image = np.full((90, 160, 3), 0 if blank else 120, np.uint8)
    f = Frame(index, index * 40, image, shot=shot)
    f.look = FrameLook(0.0 if blank else 120.0, 0.0 if blank else 40.0, sharpness, blank)
    return f


def chosen(sharpness: list[float], blank: set[int] = frozenset()) -> int | None:  # type: ignore[assignment]
    picker = KeyframePicker(80)
    for i, s in enumerate(sharpness):
        picker.add(frame(i, 0, s, i in blank))
    keyframe = picker.take()
    return None if keyframe is None else keyframe.frame_index


def test_the_sharpest_frame_past_the_first_quarter_is_the_keyframe():
    # frame 1 is the sharpest, but lies in the first quarter (motion after a cut)
    assert chosen([5, 99, 1, 2, 30, 3, 4, 6, 2, 1, 1, 1]) == 4


def test_a_black_frame_is_never_the_keyframe_of_a_shot_with_a_picture():
    assert chosen([0, 0, 0, 0, 0, 0, 0, 0, 7, 0], blank={0, 1, 2, 3, 4, 5, 6, 7, 9}) == 8
    assert chosen([9, 9, 0, 0, 0, 0, 0, 0, 0, 0], blank=set(range(2, 10))) in (0, 1)


def test_an_all_black_shot_still_has_a_keyframe():
    assert chosen([0, 0, 0], blank={0, 1, 2}) is not None


def test_the_keyframe_is_a_small_jpeg_of_the_set_width():
    picker = KeyframePicker(80)
    picker.add(frame(0, 0, 1.0))
    keyframe = picker.take()
    assert keyframe is not None
    image = cv2.imdecode(np.frombuffer(keyframe.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == 80 and image.shape[0] == 45


def test_black_runs_of_two_frames_or_more_including_one_at_the_end():
    runs = BlackSegments()
    for i, b in enumerate([0, 1, 0, 1, 1, 0, 0, 1, 1, 1]):
        runs.add(i, i * 40, bool(b))
    assert runs.finish() == [
        {"start_ms": 120, "end_ms": 160, "start_frame": 3, "end_frame": 4},
        {"start_ms": 280, "end_ms": 360, "start_frame": 7, "end_frame": 9},
    ]


def test_the_summary_lists_each_shot_keyframe_and_black_segments_and_abort_removes_files():
    job = uuid.uuid4()
    storage = InMemoryStorage()
    pictures = ShotPicturesSink(storage, job, 64)
    sink = SummarySink(storage, job, pictures)
    frames = [frame(i, 0, float(i)) for i in range(6)]
    frames += [frame(6 + i, 1, 1.0, blank=i < 3) for i in range(6)]
    for f in frames:
        pictures.add(f)  # during the loop, with pictures
    for f in frames:
        f.image = None  # the end-of-job pass replays results without pictures
        sink.add(f)
    sink.close({"fps": 25})
    pictures.close({"fps": 25})
    document = json.loads(storage.load_file(summary_key(job)))
    assert [s["keyframe"]["frame_index"] for s in document["shots"]] == [5, 9]
    assert document["shots"][1]["keyframe"]["timestamp_ms"] == 360
    assert document["black_segments"] == [
        {"start_ms": 240, "end_ms": 320, "start_frame": 6, "end_frame": 8}
    ]
    assert storage.exists(shot_keyframe_key(job, 1)) and not storage.exists(
        shot_keyframe_key(job, 2)
    )
    pictures.abort()
    assert not storage.exists(shot_keyframe_key(job, 0))
