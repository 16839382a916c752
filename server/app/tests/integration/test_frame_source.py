"""The frame source on real files: presentation timestamps, sampling and time ranges,
the limits enforced while decoding, and truncated or damaged videos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.frame_source import VideoSource
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.errors import FrameLimitExceeded, PipelineInterrupted, VideoDecodeError
from app.domain.frames import FrameLimits
from app.domain.job_runs import run_claimed_job
from app.domain.model import JobStatus, input_key
from app.domain.options import AnalysisOptions
from app.domain.services import claim_job, submit_video
from app.tests.fixtures.av_clips import uneven_times, write_h264
from app.tests.fixtures.sinks import run_collecting
from app.tests.fixtures.videos import make_moving_box_mp4
from app.tests.helpers import stored_job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service() -> VideoFilePipelineService:
    return VideoFilePipelineService(PipelineCatalog.load())


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory) -> tuple[Path, list[int]]:
    times = uneven_times(60, start_ms=500)  # the stream starts at 0.5 s
    return write_h264(tmp_path_factory.mktemp("vfr") / "vfr.mp4", times), times


def times_of(items: list[dict]) -> list[tuple[int, int]]:
    return [(item["frame_index"], item["timestamp_ms"]) for item in items]


def test_timestamps_are_presentation_times_from_the_stream_start(service, vfr_clip):
    path, times = vfr_clip
    analysis, items = run_collecting(service, str(path), "quality")
    assert times_of(items) == [(i, t - times[0]) for i, t in enumerate(times)]
    fps = analysis.video["fps"]
    assert any(abs(item["timestamp_ms"] - item["frame_index"] * 1000 / fps) > 100 for item in items)


@pytest.mark.skipif(
    shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
    reason="ffmpeg/ffprobe are not installed (apt-get install ffmpeg)",
)
def test_timestamps_match_ffprobe_within_a_millisecond(service, vfr_clip, tmp_path):
    dropped = tmp_path / "dropped.mp4"  # an encoder's own VFR: frames dropped, B-frames
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "lavfi"),
            *("-i", "testsrc=size=160x120:rate=30:duration=3"),
            *("-vf", r"select='not(mod(n\,4))+between(n\,10\,20)'", "-fps_mode", "vfr"),
            *("-c:v", "libx264", "-bf", "2", str(dropped)),
        ],
        check=True,
    )
    for path in (vfr_clip[0], dropped):
        probe = subprocess.run(
            [
                *("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames"),
                *("-show_entries", "frame=best_effort_timestamp_time:stream=start_time"),
                *("-of", "json", str(path)),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(probe.stdout)
        start = float(data["streams"][0]["start_time"])
        expected = [(float(f["best_effort_timestamp_time"]) - start) * 1000 for f in data["frames"]]
        _analysis, items = run_collecting(service, str(path), "quality")
        assert len(items) == len(expected)
        assert max(abs(i["timestamp_ms"] - e) for i, e in zip(items, expected, strict=True)) <= 1


def test_sampling_picks_the_first_frame_of_each_period_by_time(service, vfr_clip):
    path, _times = vfr_clip
    _analysis, every = run_collecting(service, str(path), "quality")
    analysis, sampled = run_collecting(
        service, str(path), "quality", options=AnalysisOptions(sample_fps=4)
    )
    slots: dict[int, tuple[int, int]] = {}
    for index, time_ms in times_of(every):
        slots.setdefault(time_ms // 250, (index, time_ms))
    assert times_of(sampled) == list(slots.values())
    assert analysis.frames_analysed == len(sampled) < len(every)
    assert analysis.video["frame_count"] == len(every)  # every frame was still decoded


def test_frames_skipped_by_sampling_still_report_progress_and_honour_a_stop(service, vfr_clip):
    path, times = vfr_clip
    seen: list[tuple[int, int | None]] = []
    options = AnalysisOptions(sample_fps=0.1)  # one frame in the first 10 s: frame 0
    _analysis, items = run_collecting(
        service, str(path), "quality", options=options, on_progress=lambda d, t: seen.append((d, t))
    )
    assert [item["frame_index"] for item in items] == [0]
    assert len(seen) == len(times)  # one report per decoded frame, skipped ones too
    assert seen == sorted(seen) and seen[-1] == (1, 1)
    again: list[int] = []
    # The reader notices the stop while it skips (or, on a loaded machine, the loop
    # notices it first, before its only frame): either way long before the end.
    with pytest.raises(PipelineInterrupted, match=r"stopped (at frame 1\d\b|after 0 frames)"):
        run_collecting(
            service,
            str(path),
            "quality",
            options=options,
            on_progress=lambda d, t: again.append(d),
            should_stop=lambda: len(again) >= 10,
        )
    assert again[-1] < len(times) // 2


def test_a_time_range_keeps_the_frames_inside_it_with_their_real_numbers(service, tmp_path):
    path = make_moving_box_mp4(tmp_path / "cfr.mp4", count=75)  # 25 fps, 3 s
    _analysis, every = run_collecting(service, str(path), "motion")
    options = AnalysisOptions(start_s=1.0, end_s=2.2)
    analysis, ranged = run_collecting(service, str(path), "quality", options=options)
    expected = [(i, t) for i, t in times_of(every) if 1000 <= t < 2200]
    assert times_of(ranged) == expected and len(expected) == 30
    assert analysis.video["frame_count"] < 75  # the seek skipped decoding the start


def test_progress_is_over_the_frames_the_range_and_sampling_will_analyse(service, tmp_path):
    path = make_moving_box_mp4(tmp_path / "cfr.mp4", count=75)  # 25 fps, 3 s
    seen: list[tuple[int, int | None]] = []
    options = AnalysisOptions(start_s=1.0, end_s=2.2, sample_fps=5)
    analysis, items = run_collecting(
        service, str(path), "quality", options=options, on_progress=lambda d, t: seen.append((d, t))
    )
    assert len(items) == analysis.frames_analysed == analysis.frames_total == 6
    assert {total for _done, total in seen} == {6}  # 1.2 s at 5 per second, never 75
    assert seen[-1] == (6, 6)


def test_a_time_range_on_a_variable_rate_clip_stays_inside_it(service, vfr_clip):
    path, _times = vfr_clip
    _analysis, every = run_collecting(service, str(path), "quality")
    options = AnalysisOptions(start_s=0.8, end_s=2.0)
    _analysis, ranged = run_collecting(service, str(path), "quality", options=options)
    assert [t for _i, t in times_of(ranged)] == [t for _i, t in times_of(every) if 800 <= t < 2000]


@pytest.mark.parametrize(
    ("limits", "setting"),
    [
        (FrameLimits(max_pixels=160 * 120 - 1), "VIDEO_JOBS_MAX_PIXELS"),
        (FrameLimits(max_frames=20), "VIDEO_JOBS_MAX_FRAMES"),
        (FrameLimits(max_duration_s=1.0), "VIDEO_JOBS_MAX_DURATION_S"),
        (FrameLimits(max_job_s=1e-9), "VIDEO_JOBS_MAX_JOB_S"),
    ],
)
def test_each_limit_stops_the_run_naming_its_setting(service, vfr_clip, limits, setting):
    path, _times = vfr_clip
    with pytest.raises(FrameLimitExceeded, match=setting):
        run_collecting(service, str(path), "quality", limits=limits)


def test_a_frame_size_over_the_limit_is_refused_before_any_frame_is_decoded(vfr_clip):
    with pytest.raises(FrameLimitExceeded, match=r"160x120 \(19200 pixels\)"):
        VideoSource(str(vfr_clip[0]), limits=FrameLimits(max_pixels=19_199))


@pytest.fixture(scope="module")
def noisy_clip(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("noisy") / "noisy.mp4"
    return write_h264(path, [40 * i for i in range(100)], noise=True).read_bytes()


def run_job(tmp_path: Path, data: bytes, service: VideoFilePipelineService):
    """Submit and run one job with real files and the in-memory job rows."""
    from app.adapters.db.in_memory import InMemoryJobRepository
    from app.adapters.queue.in_memory import InProcessQueue

    jobs, storage = InMemoryJobRepository(), FilesystemStorage(tmp_path / "video_jobs", tmp_path)
    job = submit_video(
        [data], "quality", jobs=jobs, queue=InProcessQueue(), storage=storage, runner=service
    )
    claimed = claim_job(jobs, job.job_id)
    assert claimed is not None
    status = run_claimed_job(claimed, jobs=jobs, storage=storage, runner=service)
    job = stored_job(jobs, job.job_id)
    files = sorted(p.name for p in storage.root.iterdir() if p.name != input_key(job.job_id))
    return status, job, storage, files


def test_a_faststart_mp4_cut_in_half_completes_with_a_warning(service, noisy_clip, tmp_path):
    status, job, storage, _files = run_job(tmp_path, noisy_clip[: len(noisy_clip) // 2], service)
    assert status is JobStatus.COMPLETED
    document = json.loads(storage.load_file(f"{job.job_id}_results.json"))
    video = document["video"]
    assert video["frames_declared"] == 100 and 30 < video["frame_count"] < 70
    assert len(document["results"]) == video["frame_count"]
    assert job.warnings == document["warnings"]
    assert any("declares 100: the file is truncated or damaged" in w for w in job.warnings)
    assert (job.frames_done, job.frames_total) == (video["frame_count"], 100)


def test_an_mp4_with_damaged_data_completes_with_what_decodes_and_a_warning(
    service, noisy_clip, tmp_path
):
    damaged = bytearray(noisy_clip)
    middle = len(damaged) // 2
    damaged[middle - 20_000 : middle + 20_000] = bytes(40_000)
    status, job, storage, _files = run_job(tmp_path, bytes(damaged), service)
    assert status is JobStatus.COMPLETED
    document = json.loads(storage.load_file(f"{job.job_id}_results.json"))
    assert document["video"]["frames_declared"] == 100
    assert 80 < document["video"]["frame_count"] < 100  # decoding resumed past the damage
    indexes = [item["frame_index"] for item in document["results"]]
    assert indexes == sorted(set(indexes))
    assert any("damaged" in warning for warning in job.warnings)


def test_a_video_with_no_decodable_frame_fails_with_a_clear_message(service, noisy_clip, tmp_path):
    header_only = noisy_clip[: noisy_clip.find(b"mdat") + 64]
    status, job, _storage, files = run_job(tmp_path, header_only, service)
    assert status is JobStatus.FAILED
    assert "no frame could be decoded" in job.error_message
    assert files == []  # no results file of any kind
    with pytest.raises(VideoDecodeError):
        run_collecting(service, str(tmp_path / "video_jobs" / input_key(job.job_id)), "quality")
