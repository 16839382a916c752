"""chapters.vtt (one cue per shot) and quality.csv (the quality step's values), written
by the worker and served by the API."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from app.adapters.exports.chapters_vtt import ChaptersVttSink
from app.adapters.storage.in_memory import InMemoryStorage
from app.bootstrap import build_export_sinks
from app.cli.main import main as cli_main
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.model import summary_key
from app.domain.options import AnalysisOptions
from app.tests.helpers import app_state
from app.tests.integration.test_api import running_app, submit
from app.tests.integration.test_tracks_exports import run_job, two_shot_clip
from app.workers.worker import Worker

pytestmark = pytest.mark.integration
__all__ = ["two_shot_clip"]  # the module fixture, used here


def cues(text: str) -> list[list[str]]:
    assert text.startswith("WEBVTT\n\n")
    return [block.split("\n") for block in text.strip().split("\n\n")[1:]]


def test_chapters_tile_the_video_one_per_shot(two_shot_clip, tmp_path) -> None:
    storage, job, _ = run_job(two_shot_clip, tmp_path, AnalysisOptions(), "motion")
    summary = json.loads(storage.load_file(summary_key(job.job_id)))
    chapters = cues(storage.load_file(EXPORT_BY_NAME["chapters.vtt"].key(job.job_id)).decode())
    assert len(chapters) == len(summary["shots"]) == 2
    # The cut is at frame 30 of 50 at 25 fps: 1.2 s; the last frame ends at 2 s.
    assert chapters[0] == ["shot-0", "00:00:00.000 --> 00:00:01.200", "Shot 1"]
    assert chapters[1] == ["shot-1", "00:00:01.200 --> 00:00:02.000", "Shot 2"]
    assert not storage.exists(
        EXPORT_BY_NAME["quality.csv"].key(job.job_id)
    )  # motion has no quality step


def test_quality_csv_has_one_row_per_analysed_frame(two_shot_clip, tmp_path) -> None:
    options = AnalysisOptions(sample_fps=5)
    storage, job, _ = run_job(two_shot_clip, tmp_path, options, "quality")
    rows = list(
        csv.reader(
            io.StringIO(storage.load_file(EXPORT_BY_NAME["quality.csv"].key(job.job_id)).decode())
        )
    )
    assert rows[0] == ["frame_index", "timestamp_ms", "brightness", "contrast", "sharpness"]
    assert [int(row[0]) for row in rows[1:]] == list(range(0, 50, 5))
    assert [int(row[1]) for row in rows[1:]] == [200 * i for i in range(10)]
    assert all(float(value) > 0 for row in rows[1:] for value in row[2:])


def run_queued_job_with_exports(client, settings) -> None:
    state = app_state(client)
    worker = Worker(
        jobs=state.jobs,
        queue=state.queue,
        storage=state.storage,
        runner=state.runner,
        export_sinks=build_export_sinks(settings, state.storage),
    )
    assert worker.run_once(wait=30) is True


def test_the_api_and_cli_serve_chapters_and_quality_and_say_why_quality_is_missing(
    settings, clip_path, tmp_path
) -> None:
    with running_app(settings) as client:
        video = clip_path.read_bytes()
        quality = submit(client, video, data={"pipeline_id": "quality"}).json()["job_id"]
        run_queued_job_with_exports(client, settings)
        motion = submit(client, video, data={"pipeline_id": "motion"}).json()["job_id"]
        run_queued_job_with_exports(client, settings)

        table = client.get(f"/video/jobs/{quality}/quality.csv")
        assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
        assert table.text.startswith("frame_index,timestamp_ms,brightness,contrast,sharpness\n")
        chapters = client.get(f"/video/jobs/{motion}/chapters.vtt")
        assert chapters.status_code == 200
        assert chapters.headers["content-type"].startswith("text/vtt")
        assert cues(chapters.text)[0][2] == "Shot 1"
        missing = client.get(f"/video/jobs/{motion}/quality.csv")
        assert missing.status_code == 404
        assert "its pipeline has no quality step" in missing.json()["detail"]

        target = tmp_path / "chapters.vtt"
        args = ["export", motion, "--format", "chapters", "-o", str(target)]
        assert cli_main(args, http=client) == 0
        assert target.read_text() == chapters.text
        target = tmp_path / "quality.csv"
        args = ["export", quality, "--format", "quality", "-o", str(target)]
        assert cli_main(args, http=client) == 0
        assert target.read_text() == table.text


def test_a_one_frame_job_gets_one_chapter_of_one_frame_step() -> None:
    storage = InMemoryStorage()
    job_id = uuid.uuid4()
    sink = ChaptersVttSink(storage, job_id)
    sink.add(Frame(0, 0, None, {}))
    sink.close({"fps": 25.0})
    assert cues(storage.load_file(EXPORT_BY_NAME["chapters.vtt"].key(job_id)).decode()) == [
        ["shot-0", "00:00:00.000 --> 00:00:00.040", "Shot 1"]
    ]
