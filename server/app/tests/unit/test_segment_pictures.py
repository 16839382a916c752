"""A split job's keyframes and black runs from its segments': each shot's keyframe
once, each black run once, a run across a seam joined."""

from __future__ import annotations

import uuid

from app.domain.model import shot_keyframe_key
from app.domain.segment_pictures import SegmentPictures
from app.domain.segment_shots import SegmentShots


def run(start: int, end: int) -> dict[str, int]:
    return {"start_frame": start, "end_frame": end, "start_ms": start * 100, "end_ms": end * 100}


def shot(index: int, start: int, keyframe: int | None) -> dict:
    out: dict = {"index": index, "start_frame": start}
    if keyframe is not None:
        out["keyframe"] = {"frame_index": keyframe, "timestamp_ms": keyframe * 100}
    return out


def test_a_shot_across_a_seam_takes_the_earlier_segments_keyframe():
    first, second = uuid.uuid4(), uuid.uuid4()
    early = [shot(0, 0, 10), shot(1, 50, 60)]
    late = [shot(0, 90, 95), shot(1, 130, 140)]  # late's shot 0 is early's shot 1 going on
    numbering = SegmentShots(early)
    pictures = SegmentPictures()
    pictures.add_segment(first, early, [], numbering, (None, 110))
    pictures.add_segment(second, late, [], numbering.followed_by(late, 110), (110, None))
    assert sorted(pictures.keyframes) == [0, 1, 2]
    assert pictures.keyframes[1].key == shot_keyframe_key(first, 1)
    assert pictures.keyframes[1].keyframe["frame_index"] == 60
    assert pictures.keyframes[2].key == shot_keyframe_key(second, 1)


def test_a_shot_without_keyframe_in_the_earlier_segment_takes_the_later_ones():
    first, second = uuid.uuid4(), uuid.uuid4()
    early = [shot(0, 0, None)]
    late = [shot(0, 90, 95)]
    numbering = SegmentShots(early)
    pictures = SegmentPictures()
    pictures.add_segment(first, early, [], numbering, (None, 110))
    pictures.add_segment(second, late, [], numbering.followed_by(late, 110), (110, None))
    assert list(pictures.keyframes) == [0]
    assert pictures.keyframes[0].key == shot_keyframe_key(second, 0)


def test_black_runs_are_taken_once_and_a_run_across_a_seam_is_joined():
    numbering = SegmentShots([shot(0, 0, None)])
    pictures = SegmentPictures()
    # Frames up to 110 are the first segment's; the overlap runs from 90 to 120.
    pictures.add_segment(uuid.uuid4(), [], [run(5, 8), run(100, 112), run(115, 118)],
                         numbering, (None, 110))  # fmt: skip
    pictures.add_segment(uuid.uuid4(), [], [run(100, 130), run(150, 151)],
                         numbering, (110, None))  # fmt: skip
    assert pictures.black_segments == [run(5, 8), run(100, 130), run(150, 151)]


def test_a_run_in_the_overlap_before_the_seam_is_the_earlier_segments_alone():
    numbering = SegmentShots([shot(0, 0, None)])
    pictures = SegmentPictures()
    pictures.add_segment(uuid.uuid4(), [], [run(95, 99)], numbering, (None, 110))
    pictures.add_segment(uuid.uuid4(), [], [run(95, 99)], numbering, (110, None))
    assert pictures.black_segments == [run(95, 99)]
