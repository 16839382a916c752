"""A submit's time range against the video's length, the frames a job plans to analyse
(the total its progress and ETA are over), and what a job that will never have results
says when they are asked for."""

from __future__ import annotations

import pytest

from app.domain.errors import InvalidOptions, JobNotCompleted
from app.domain.model import JobStatus, utcnow
from app.domain.options import AnalysisOptions
from app.domain.ports import VideoHeader
from app.domain.services import get_results, submit_video
from app.domain.time_range import checked_range, planned_frames
from app.tests.unit.conftest import MP4_BYTES, submit
from app.tests.unit.test_submit_limits import LIMITS, FakeInspector

pytestmark = pytest.mark.unit

FOUR_SECONDS = VideoHeader(has_video=True, width=640, height=360, frame_count=100, duration_s=4.0)


def _submit(jobs, queue, storage, runner, options: AnalysisOptions):
    inspector = FakeInspector(FOUR_SECONDS)
    return submit(jobs, queue, storage, runner, inspector=inspector, limits=LIMITS, options=options)


def test_a_range_that_starts_past_the_end_is_refused_naming_the_duration(
    jobs, queue, storage, runner
) -> None:
    with pytest.raises(InvalidOptions, match=r"start_s=100 .*4\.000 s long"):
        _submit(jobs, queue, storage, runner, AnalysisOptions(start_s=100, end_s=200))
    assert storage.files == {} and queue.size() == 0


def test_a_range_that_starts_exactly_at_the_end_is_refused() -> None:
    with pytest.raises(InvalidOptions, match="at or past the end"):
        checked_range(AnalysisOptions(start_s=4.0), 4.0)


def test_a_range_that_ends_past_the_end_is_clipped_with_a_warning_on_the_job(
    jobs, queue, storage, runner
) -> None:
    job = _submit(jobs, queue, storage, runner, AnalysisOptions(start_s=1.0, end_s=200))
    stored = jobs.get(job.job_id)
    assert stored.warnings == [
        "end_s=200 is past the end of the video (4.000 s); the range was clipped to end at 4.000 s"
    ]
    assert stored.frames_total == 75  # 1 s .. 4 s at 25 fps


def test_the_job_total_is_the_frames_its_range_and_sampling_will_analyse(
    jobs, queue, storage, runner
) -> None:
    job = _submit(jobs, queue, storage, runner, AnalysisOptions(start_s=1.0, sample_fps=2))
    assert jobs.get(job.job_id).frames_total == 6 and jobs.get(job.job_id).warnings == []


@pytest.mark.parametrize(
    ("options", "frames"),
    [
        (AnalysisOptions(), 100),
        (AnalysisOptions(end_s=2.0), 50),
        (AnalysisOptions(start_s=3.5, end_s=9.0), 13),
        (AnalysisOptions(sample_fps=1), 4),
        (AnalysisOptions(sample_fps=1000), 100),  # never more than the frames in range
        (AnalysisOptions(start_s=1.0, end_s=1.5, sample_fps=5), 3),
    ],
)
def test_planned_frames_follow_the_range_and_the_sampling(options, frames) -> None:
    assert planned_frames(options, 100, 4.0) == frames


def test_a_video_with_no_declared_count_has_no_planned_total() -> None:
    assert planned_frames(AnalysisOptions(end_s=1.0), None, 4.0) is None
    assert checked_range(AnalysisOptions(start_s=100), None) == []


def test_a_canceled_or_failed_job_says_it_will_have_no_results(jobs, queue, storage, runner):
    job = submit_video(
        [MP4_BYTES], "quality", jobs=jobs, queue=queue, storage=storage, runner=runner
    )
    jobs.transition(job.job_id, JobStatus.PENDING, JobStatus.CANCELED, now=utcnow())
    with pytest.raises(JobNotCompleted, match="was canceled, so it has no results") as caught:
        get_results(jobs, storage, job.job_id)
    assert "once completed" not in str(caught.value)
    other = submit_video(
        [MP4_BYTES], "quality", jobs=jobs, queue=queue, storage=storage, runner=runner
    )
    jobs.transition(other.job_id, JobStatus.PENDING, JobStatus.RUNNING, now=utcnow())
    jobs.transition(
        other.job_id, JobStatus.RUNNING, JobStatus.FAILED, now=utcnow(), error_message="bad frame"
    )
    with pytest.raises(JobNotCompleted, match="failed, so it has no results: bad frame"):
        get_results(jobs, storage, other.job_id)
