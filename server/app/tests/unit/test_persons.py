"""Face tracks grouped into persons: the clustering rules, the signing rules, the summary."""

from __future__ import annotations

import numpy as np
import pytest

from app.adapters.pipeline.persons import (
    PersonSettings,
    PersonStage,
    group_tracks,
    number_persons,
)
from app.domain.detections import Detection
from app.domain.frames import Frame
from app.domain.persons import persons_summary
from app.domain.summary import SummaryBuilder, TrackTotals

pytestmark = pytest.mark.unit


def _sig(*values: float) -> np.ndarray:
    out = np.zeros(128, np.float32)
    out[: len(values)] = values
    return out


def test_close_signatures_join_and_far_ones_stay_apart() -> None:
    signatures = {1: _sig(0.0), 2: _sig(1.0), 3: _sig(0.1), 4: _sig(1.05)}
    assert group_tracks(signatures, set(), 0.3) == [[1, 3], [2, 4]]


def test_tracks_seen_in_one_frame_are_never_joined_even_when_identical() -> None:
    signatures = {1: _sig(0.0), 2: _sig(0.0)}
    assert group_tracks(signatures, {(1, 2)}, 0.5) == [[1], [2]]


def test_a_group_inherits_its_members_exclusions() -> None:
    # 1 and 3 appear together; 2 is close to both. Joining 2 with 1 first must then keep
    # 3 out, however close 3 is to that group.
    signatures = {1: _sig(0.0), 2: _sig(0.05), 3: _sig(0.12)}
    groups = group_tracks(signatures, {(1, 3)}, 0.5)
    assert groups == [[1, 2], [3]]
    assert not any({1, 3} <= set(g) for g in groups)


def test_average_linkage_stops_at_the_threshold() -> None:
    # A chain 0 - 0.4 - 0.8: single linkage would join all three at 0.45; average
    # linkage sees the group {0, 0.4} at mean 0.6 from 0.8 and stops.
    signatures = {1: _sig(0.0), 2: _sig(0.4), 3: _sig(0.8)}
    assert group_tracks(signatures, set(), 0.45) == [[1, 2], [3]]


def test_persons_are_numbered_by_first_track_and_unsigned_tracks_stand_alone() -> None:
    person_of = number_persons([[4, 9], [2, 7]], unsigned=[3])
    assert person_of == {2: 1, 7: 1, 3: 2, 4: 3, 9: 3}


def _face(track_id: int, box: list[int], carried: bool = False, tracked: bool = False) -> Detection:
    return Detection("face", box, 0.9, track_id=track_id, carried=carried, tracked=tracked)


class _Signer:
    def __init__(self, by_track: dict[int, np.ndarray]) -> None:
        self.by_track = by_track
        self.calls: list[tuple[int, list[int]]] = []

    def __call__(self, image: np.ndarray, box: list[int]) -> np.ndarray:
        track = int(image[0, 0, 0])  # the fake frames carry the track to sign in pixel 0
        self.calls.append((track, box))
        return self.by_track[track]


def _frame(ms: int, *faces: Detection) -> Frame:
    image = np.zeros((4, 4, 3), np.uint8)
    image[0, 0, 0] = (faces[0].track_id or 0) if faces else 0
    return Frame(ms // 40, ms, image, detections=list(faces))


def test_stage_signs_a_bounded_spread_of_good_sightings() -> None:
    signer = _Signer({1: _sig(0.0)})
    stage = PersonStage(signer, PersonSettings(per_track=3, min_face=40, spacing_ms=500))
    for ms in range(0, 5000, 40):
        stage.process(_frame(ms, _face(1, [0, 0, 60, 80])))
    assert len(signer.calls) == 3  # bounded per track, not per frame
    assert stage.signatures_made == 3


def test_stage_skips_small_carried_and_predicted_faces() -> None:
    signer = _Signer({1: _sig(0.0)})
    stage = PersonStage(signer, PersonSettings(min_face=40))
    stage.process(_frame(0, _face(1, [0, 0, 30, 40])))
    stage.process(_frame(600, _face(1, [0, 0, 60, 80], carried=True)))
    stage.process(_frame(1200, _face(1, [0, 0, 60, 80], tracked=True)))
    assert signer.calls == []
    assert stage.persons() == {1: 1}  # seen, unsigned: a person of its own


def test_the_same_face_after_a_cut_is_one_person_and_a_companion_is_another() -> None:
    signer = _Signer({1: _sig(0.0), 2: _sig(1.0), 3: _sig(0.05)})
    stage = PersonStage(signer, PersonSettings(max_distance=0.5))
    # Shot 1: tracks 1 and 2 side by side; shot 2: track 3 is track 1's face again.
    for ms in range(0, 1000, 100):
        frame = _frame(ms, _face(1, [0, 0, 60, 80]), _face(2, [100, 0, 60, 80]))
        stage.process(frame)
    for ms in range(1000, 2000, 100):
        stage.process(_frame(ms, _face(3, [0, 0, 60, 80])))
    assert stage.persons() == {1: 1, 3: 1, 2: 2}


def test_persons_summary_sums_screen_time_and_takes_the_best_track() -> None:
    builder_tracks: list[TrackTotals] = []
    builder = SummaryBuilder(on_track=builder_tracks.append)
    for ms in range(0, 1000, 100):
        builder.add(ms // 100, ms, [Detection("face", [0, 0, 50, 50], 0.6, track_id=1)])
    for ms in range(1000, 1500, 100):
        builder.add(ms // 100, ms, [Detection("face", [5, 5, 40, 40], 0.95, track_id=4)], ended=[1])
    builder.finish()
    persons = persons_summary(builder_tracks, {1: 1, 4: 1})
    assert persons == [
        {
            "person_id": 1,
            "tracks": [1, 4],
            "start_ms": 0,
            "end_ms": 1400,
            "screen_time_ms": 1500,
            "best_frame": 10,
            "best_bbox": [5, 5, 40, 40],
        }
    ]
