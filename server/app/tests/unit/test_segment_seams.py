"""The merge's small decisions: which later track continues which earlier one, shot
numbers across a seam, persons re-grouped through stitched tracks."""

from __future__ import annotations

from app.domain.segment_merge import PersonGroups
from app.domain.segment_seams import _best_pairing, match_tracks
from app.domain.segment_shots import SegmentShots


def boxes(tracks: dict[int, tuple[str, list[int]]], frames: range) -> dict:
    return {frame: dict(tracks) for frame in frames}


def test_each_later_track_continues_the_earlier_track_it_overlaps():
    before = boxes({1: ("person", [0, 0, 50, 100]), 2: ("person", [200, 0, 50, 100])}, range(10))
    after = boxes({7: ("person", [202, 0, 50, 100]), 8: ("person", [1, 0, 50, 100])}, range(10))
    assert match_tracks(before, after, list(range(10))) == {7: 2, 8: 1}


def test_the_pairing_of_largest_total_score_wins_over_the_greedy_one():
    # Greedy would pair earlier 1 with later 8 (0.9) and leave 2 alone (2-9 scores 0);
    # the Hungarian pairing 1-9, 2-8 scores 1.6 and keeps both tracks' ids.
    scores = {(1, 8): 0.9, (1, 9): 0.8, (2, 8): 0.8, (2, 9): 0.0}
    assert _best_pairing(scores) == {9: 1, 8: 2}


def test_tracks_of_other_labels_or_barely_overlapping_are_not_joined():
    before = boxes({1: ("person", [0, 0, 50, 100]), 2: ("dog", [300, 0, 50, 50])}, range(6))
    after = boxes({5: ("cat", [300, 0, 50, 50]), 6: ("person", [45, 0, 50, 100])}, range(6))
    assert match_tracks(before, after, list(range(6))) == {}


def test_a_track_seen_on_few_of_the_overlaps_frames_is_not_joined():
    before = boxes({1: ("person", [0, 0, 50, 100])}, range(20))
    after = boxes({4: ("person", [0, 0, 50, 100])}, range(18, 20))  # 2 of 20 frames
    assert match_tracks(before, after, list(range(20))) == {}


def test_shots_are_numbered_on_across_a_seam_with_each_cut_once():
    earlier = SegmentShots([{"index": 0, "start_frame": 0}, {"index": 1, "start_frame": 40}])
    # The later segment starts at 50 (inside shot 1), finds the cut at 60 (in the
    # overlap, whose frames 50..79 are the earlier's) and one at 90.
    earlier_end = SegmentShots(
        [
            {"index": 0, "start_frame": 0},
            {"index": 1, "start_frame": 40},
            {"index": 2, "start_frame": 60},
        ]
    )
    later = earlier_end.followed_by(
        [
            {"index": 0, "start_frame": 50},
            {"index": 1, "start_frame": 60},
            {"index": 2, "start_frame": 90},
        ],
        last_kept=79,
    )
    assert [later.at(f) for f in (80, 89, 90, 120)] == [2, 2, 3, 3]
    assert earlier.at(45) == 1


def test_a_seam_without_overlap_continues_the_shot():
    earlier = SegmentShots([{"index": 0, "start_frame": 0}, {"index": 1, "start_frame": 30}])
    later = earlier.followed_by([{"index": 0, "start_frame": 50}], last_kept=49)
    assert later.at(50) == 1


def test_persons_linked_by_a_stitched_track_become_one():
    groups = PersonGroups()
    groups.link(3, segment=0, person=1)  # track 3 crosses the seam: person 1, then 2
    groups.link(3, segment=1, person=2)
    groups.link(7, segment=1, person=2)  # later in segment 1, the same person again
    groups.link(5, segment=1, person=1)  # segment 1's person 1 is someone else
    assert groups.person_ids() == {3: 1, 5: 2, 7: 1}
