"""Planning a long video's segments (domain/segments.py): pure, keyframes passed in."""

from __future__ import annotations

import itertools
import uuid

import pytest

from app.domain.errors import InvalidOptions
from app.domain.model import Job, JobStatus
from app.domain.options import AnalysisOptions, parse_options
from app.domain.segments import (
    SegmentRange,
    SplitPolicy,
    VideoKeyframes,
    plan_segments,
    segment_failure_message,
    segment_jobs,
    with_segments,
)

POLICY = SplitPolicy(min_s=600, segment_s=120, overlap_s=3)
FPS = 25.0


def every_2s(duration: float) -> VideoKeyframes:
    return VideoKeyframes(duration, [2.0 * k for k in range(int(duration // 2) + 1)], FPS)


def test_a_video_not_longer_than_the_threshold_is_not_split() -> None:
    assert plan_segments(every_2s(600), POLICY, AnalysisOptions()) == []
    assert plan_segments(every_2s(601), SplitPolicy(min_s=0), AnalysisOptions()) == []
    assert plan_segments(every_2s(3600), POLICY, AnalysisOptions(split=False)) == []
    assert plan_segments(VideoKeyframes(None, None), POLICY, AnalysisOptions()) == []


def test_segments_start_on_keyframes_and_overlap_the_next() -> None:
    keyframes = VideoKeyframes(1200.0, [0.0, 100.0, 237.0, 250.0, 470.0, 700.0, 1000.0], FPS)
    plan = plan_segments(keyframes, POLICY, AnalysisOptions())
    # Cuts aimed at 120, 240, ... 1080, each moved back to its keyframe; repeats and one
    # 13 s after the previous (250) are dropped: no stub segments.
    seams = [s.seam_s for s in plan]
    assert seams == [100.0, 237.0, 470.0, 700.0, 1000.0, None]
    assert plan[0].start_s == 0.0
    for before, after in itertools.pairwise(plan):
        assert before.seam_s is not None
        assert after.start_s == pytest.approx(before.seam_s - 0.5 / FPS)  # half a frame early
        assert before.end_s == before.seam_s + 3  # runs 3 s into the next
    assert plan[-1].end_s is None  # to the end of the video, whatever its last frame
    assert [s.index for s in plan] == list(range(6))


def test_cuts_are_spread_evenly_at_about_the_segment_length() -> None:
    plan = plan_segments(every_2s(3600), POLICY, AnalysisOptions())
    assert len(plan) == 30
    seams = [0.0, *(s.seam_s or 0.0 for s in plan[:-1]), 3600.0]
    lengths = [b - a for a, b in itertools.pairwise(seams)]
    assert all(118 <= length <= 122 for length in lengths)


def test_the_last_segment_absorbs_a_short_tail() -> None:
    plan = plan_segments(every_2s(650), POLICY, AnalysisOptions())
    assert len(plan) == 5  # 650 / 120 rounds to 5: no 50 s stub at the end
    assert 120 <= 650 - (plan[-2].seam_s or 0) <= 140


def test_all_intra_video_cuts_anywhere() -> None:
    plan = plan_segments(VideoKeyframes(700.0, None, FPS), POLICY, AnalysisOptions())
    assert [s.seam_s for s in plan][:2] == [pytest.approx(700 / 6), pytest.approx(1400 / 6)]


def test_a_time_range_is_split_within_itself() -> None:
    options = AnalysisOptions(start_s=1000.0, end_s=1700.0)
    plan = plan_segments(every_2s(3600), POLICY, options)
    assert plan[0].start_s == 1000.0 and plan[-1].end_s == 1700.0
    assert all(1000 < (s.seam_s or 1700) <= 1700 for s in plan)
    assert plan_segments(every_2s(3600), POLICY, AnalysisOptions(start_s=0, end_s=500)) == []


def test_no_keyframe_between_cuts_means_fewer_segments() -> None:
    keyframes = VideoKeyframes(1200.0, [0.0, 1199.0], FPS)  # one keyframe at the start
    assert plan_segments(keyframes, POLICY, AnalysisOptions()) == []


def parent_job(**changes) -> Job:
    job_id = uuid.uuid4()
    base = Job(
        job_id=job_id,
        pipeline_id="people",
        input_path=f"video_jobs/{job_id}.mp4",
        status=JobStatus.RUNNING,
        options=AnalysisOptions(sample_fps=2.0, start_s=5.0).to_dict(),
        callback_url="http://hook.example/x",
        tag="street",
        filename="long.mp4",
    )
    return Job(**{**base.__dict__, **changes})


def test_segments_read_the_parents_upload_with_their_own_range_and_its_slots() -> None:
    parent = parent_job()
    ranges = [SegmentRange(0, 5.0, 128.0, 125.0), SegmentRange(1, 124.98, None, None)]
    first, second = segment_jobs(parent, ranges, VideoKeyframes(200.0, None, 25.0, 5000))
    assert first.source_id == parent.job_id and first.input_path == parent.input_path
    assert (second.parent_id, second.segment_index, second.segments_total) == (
        parent.job_id,
        1,
        2,
    )
    options = AnalysisOptions.from_dict(second.options)
    assert (options.start_s, options.end_s, options.slots_from_s) == (124.98, None, 5.0)
    assert options.sample_fps == 2.0
    assert second.callback_url is None and second.tag is None  # notifies nobody
    # Progress has a total from the start: 2 frames a second of each range.
    assert (first.frames_total, second.frames_total) == (246, 151)


def test_split_is_an_option_and_slots_from_s_is_not() -> None:
    assert parse_options({}).split is True
    assert parse_options({"split": "false"}).split is False
    assert AnalysisOptions(split=False).to_dict()["split"] is False
    assert "split" not in AnalysisOptions().to_dict()  # echoed only when turned off
    assert parse_options({"slots_from_s": "3"}).slots_from_s is None
    with pytest.raises(InvalidOptions, match="split must be true or false"):
        parse_options({"split": "maybe"})


def test_the_failure_names_the_segment_its_times_and_the_reason() -> None:
    segment = parent_job(
        parent_id=uuid.uuid4(),
        segment_index=1,
        segments_total=3,
        options=AnalysisOptions(start_s=118.0, end_s=243.0).to_dict(),
        error_message="the video could not be decoded",
    )
    assert segment_failure_message(segment) == (
        "segment 2/3 (1:58\u20134:03) failed: the video could not be decoded"
    )


def test_a_running_parent_shows_its_segments_progress_summed() -> None:
    parent = parent_job(segments_total=3, frames_done=0, frames_total=9000)
    segments = [
        parent_job(status=JobStatus.COMPLETED, frames_done=3000, frames_total=3000),
        parent_job(frames_done=1000, frames_total=3100, processing_fps=50.0),
        parent_job(status=JobStatus.PENDING, frames_done=0, frames_total=3000),
    ]
    shown, counts = with_segments(parent, segments)
    assert (counts.total, counts.completed, counts.running, counts.failed) == (3, 1, 1, 0)
    assert (shown.frames_done, shown.frames_total, shown.processing_fps) == (4000, 9100, 50.0)
    assert shown.eta_s == pytest.approx(5100 / 50.0)
