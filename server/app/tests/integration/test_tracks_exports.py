"""The real frame loop with the shots and tracker stages and every export sink, on a
clip with two shots: a photograph with a face panning, then a different one."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.adapters.exports import export_sinks
from app.adapters.pipeline.catalog import PipelineCatalog
from app.adapters.pipeline.tracking import tracking_stages
from app.adapters.pipeline.video_file_pipeline_service import VideoFilePipelineService
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.errors import PipelineInterrupted
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import abort_sinks, close_sinks
from app.domain.model import (
    Job,
    export_keys,
    input_key,
    summary_key,
)
from app.domain.options import AnalysisOptions
from app.domain.results_writer import ResultsWriter
from app.tests.fixtures.videos import write_mp4
from app.tests.unit.scenes import astronaut, rgb_to_bgr

pytestmark = pytest.mark.integration

FPS = 25.0
FIRST_SHOT = 30  # frames of the panning astronaut; then 20 of the coffee cup


def two_shot_frames() -> list[np.ndarray]:
    still = cv2.resize(astronaut(), (384, 384))
    frames = []
    for i in range(FIRST_SHOT):
        canvas = np.full((360, 480, 3), 90, np.uint8)
        x = 10 + 2 * i
        canvas[:, x : x + 384][:360] = still[:360]
        frames.append(canvas)
    import skimage.data

    coffee = cv2.resize(rgb_to_bgr(skimage.data.coffee()), (480, 360))
    frames += [np.roll(coffee, i, axis=1) for i in range(20)]
    return frames


@pytest.fixture(scope="module")
def two_shot_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mp4(tmp_path_factory.mktemp("clip") / "two_shots.mp4", two_shot_frames(), FPS)


def stored_job(clip: Path, root: Path, pipeline_id: str = "faces"):
    """Storage holding `clip` as a job's upload (the annotated video reads its audio)."""
    storage = FilesystemStorage(root / "video_jobs", root)
    job = Job(job_id=uuid.uuid4(), pipeline_id=pipeline_id, input_path="x.mp4")
    shutil.copyfile(clip, storage.local_path(input_key(job.job_id)))
    return storage, job


def run_job(clip: Path, root: Path, options: AnalysisOptions, pipeline_id: str = "faces"):
    storage, job = stored_job(clip, root, pipeline_id)
    runner = VideoFilePipelineService(PipelineCatalog.load(None), stages=tracking_stages)
    sinks = [ResultsWriter(storage, job), *export_sinks(storage, job, options)]
    try:
        source = storage.local_path(input_key(job.job_id))
        analysis = runner.run(source, pipeline_id, options=options, sinks=sinks)
        close_sinks(sinks, analysis.video, analysis.warnings)
    except BaseException:
        abort_sinks(sinks)
        raise
    return storage, job, sinks


def test_faces_get_one_track_per_shot_and_every_export_is_written(two_shot_clip, tmp_path):
    storage, job, _ = run_job(two_shot_clip, tmp_path, AnalysisOptions(annotate=True))
    summary = json.loads(storage.load_file(summary_key(job.job_id)))
    assert [(s["start_frame"], s["end_frame"]) for s in summary["shots"]] == [
        (0, FIRST_SHOT - 1),
        (FIRST_SHOT, FIRST_SHOT + 19),
    ]
    assert summary["shots"][1]["start_ms"] == round(FIRST_SHOT * 1000 / FPS)
    face_tracks = [t for t in summary["tracks"] if t["label"] == "face"]
    # The astronaut's face is found on most frames of the first shot, under one id.
    longest = max(face_tracks, key=lambda t: t["frames"])
    assert longest["frames"] >= 0.8 * FIRST_SHOT
    assert longest["last_frame"] < FIRST_SHOT  # no track crosses the cut
    assert longest["first_frame"] <= longest["best_frame"] <= longest["last_frame"]

    rows = list(
        csv.DictReader(
            io.StringIO(
                storage.load_file(EXPORT_BY_NAME["detections.csv"].key(job.job_id)).decode()
            )
        )
    )
    assert rows and all(row["track_id"] for row in rows if row["label"] == "face")
    assert (
        sum(1 for row in rows if row["track_id"] == str(longest["track_id"])) == longest["frames"]
    )
    vtt = storage.load_file(EXPORT_BY_NAME["tracks.vtt"].key(job.job_id)).decode()
    assert vtt.startswith("WEBVTT") and f"face #{longest['track_id']}" in vtt

    video = storage.local_path(EXPORT_BY_NAME["annotated.mp4"].key(job.job_id))
    capture = cv2.VideoCapture(video)
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == FIRST_SHOT + 20
    if shutil.which("ffprobe"):
        probe = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name,pix_fmt,width,height",
                "-of",
                "json",
                video,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        stream = json.loads(probe.stdout)["streams"][0]
        assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
        assert (stream["width"], stream["height"]) == (480, 360)


def test_no_annotated_video_unless_asked_and_abort_removes_every_export(two_shot_clip, tmp_path):
    storage, job, sinks = run_job(two_shot_clip, tmp_path, AnalysisOptions(), "quality")
    assert not storage.exists(EXPORT_BY_NAME["annotated.mp4"].key(job.job_id))
    assert storage.exists(summary_key(job.job_id))
    abort_sinks(sinks)
    assert not any(storage.exists(key) for key in export_keys(job.job_id))
    assert not list((tmp_path / "video_jobs").glob(".*.part"))


def test_sampled_job_keeps_one_face_track_and_the_video_holds_only_analysed_frames(
    two_shot_clip, tmp_path
):
    options = AnalysisOptions(sample_fps=5, annotate=True)
    storage, job, _ = run_job(two_shot_clip, tmp_path, options)
    summary = json.loads(storage.load_file(summary_key(job.job_id)))
    analysed = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]  # one frame in five at 25 fps
    assert [s["start_frame"] for s in summary["shots"]] == [0, 30]
    first_shot = [t for t in summary["tracks"] if t["label"] == "face" and t["last_frame"] < 30]
    assert len(first_shot) == 1 and first_shot[0]["frames"] >= 5
    face = next(label for label in summary["labels"] if label["label"] == "face")
    # Each analysed frame stands for the 200 ms until the next one.
    assert face["screen_time_ms"] == 200 * face["frames"]
    capture = cv2.VideoCapture(storage.local_path(EXPORT_BY_NAME["annotated.mp4"].key(job.job_id)))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == len(analysed)


def test_a_job_stopped_midway_leaves_no_export_and_no_partial_file(two_shot_clip, tmp_path):
    storage, job = stored_job(two_shot_clip, tmp_path)
    runner = VideoFilePipelineService(PipelineCatalog.load(None), stages=tracking_stages)
    sinks = [
        ResultsWriter(storage, job),
        *export_sinks(storage, job, AnalysisOptions(annotate=True)),
    ]
    frames = iter(range(100))
    with pytest.raises(PipelineInterrupted):
        runner.run(
            str(two_shot_clip),
            "faces",
            options=AnalysisOptions(annotate=True),
            sinks=sinks,
            should_stop=lambda: next(frames) >= 20,
        )
    assert list((tmp_path / "video_jobs").glob(".*.part"))  # written as it went
    abort_sinks(sinks)
    assert not any(storage.exists(key) for key in export_keys(job.job_id))
    assert [p.name for p in (tmp_path / "video_jobs").iterdir()] == [input_key(job.job_id)]


def test_a_full_disk_while_encoding_is_insufficient_storage():
    import errno

    from app.adapters.exports.annotated_video import _disk_full_is_insufficient_storage
    from app.domain.errors import InsufficientStorage

    with pytest.raises(InsufficientStorage), _disk_full_is_insufficient_storage():
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(PermissionError), _disk_full_is_insufficient_storage():
        raise PermissionError(errno.EACCES, "denied")
