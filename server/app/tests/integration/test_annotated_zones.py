"""The annotated video of a job with zones is written by the end-of-job pass from the
job's one zone feed: it draws confirmed tracks only, and its live counts end equal to
the summary's (a real upload decoded again, the real encoder)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.adapters.exports import annotated_video, export_sinks
from app.adapters.pipeline.frame_source import VideoSource
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.detections import Detection
from app.domain.exports import EXPORT_BY_NAME
from app.domain.finishing import FinishingWriter
from app.domain.frames import FrameSink, abort_sinks, close_sinks
from app.domain.model import Job, input_key
from app.domain.options import AnalysisOptions
from app.domain.results_writer import ResultsWriter
from app.domain.track_facts import TrackFacts
from app.tests.fixtures.videos import write_mp4

pytestmark = pytest.mark.integration
ZONES = {"lines": [{"name": "door", "points": [[0, 120], [320, 120]]}]}  # down is "in"


def person(track_id: int, cx: int, bottom: int, score: float = 0.9) -> Detection:
    return Detection("person", [cx - 10, bottom - 40, 20, 40], score, track_id)


def test_the_annotated_video_counts_and_draws_confirmed_tracks_only(tmp_path, monkeypatch):
    frames = [np.full((240, 320, 3), 30 + 4 * i, np.uint8) for i in range(40)]
    clip = write_mp4(tmp_path / "clip.mp4", frames, fps=10.0)
    storage = FilesystemStorage(tmp_path / "video_jobs", tmp_path)
    options = AnalysisOptions(annotate=True, zones={**ZONES, "units": "px"})
    job = Job(
        job_id=uuid.uuid4(), pipeline_id="people", input_path="x.mp4", options=options.to_dict()
    )
    shutil.copyfile(clip, storage.local_path(input_key(job.job_id)))

    drawn: list[tuple[int, tuple[int, int], set[int]]] = []
    draw_zones, draw = annotated_video.draw_zones, annotated_video.draw

    def drawing_zones(image, spec, totals, scale):
        drawn.append((image.shape[1], totals.line_count("door"), set()))
        draw_zones(image, spec, totals, scale)

    def drawing(image, detections, scale):
        drawn[-1][2].update(d.track_id for d in detections)
        draw(image, detections, scale)

    monkeypatch.setattr(annotated_video, "draw_zones", drawing_zones)
    monkeypatch.setattr(annotated_video, "draw", drawing)

    exports = export_sinks(storage, job, options)
    writer = ResultsWriter(storage, job)
    finishing = FinishingWriter(writer, TrackFacts(), [s for s in exports if s.after_tracks])
    sinks: list[FrameSink] = [finishing, *(s for s in exports if not s.after_tracks)]
    source = VideoSource(str(clip), options)
    try:
        for frame in source:
            i = frame.index
            # Track 1 walks down across the door; track 2 is a flicker of two weak
            # boxes that also crosses it (no object: never confirmed).
            frame.detections = [person(1, 100, 60 + 5 * i)]
            if i in (10, 11):
                frame.detections.append(person(2, 250, 100 + 40 * (i - 10), score=0.3))
            for sink in sinks:
                sink.add(frame)
        close_sinks(sinks, {"fps": 10.0, "width": 320, "height": 240}, [])
    except BaseException:
        abort_sinks(sinks)
        raise

    summary = json.loads(storage.load_file(f"{job.job_id}_summary.json"))
    assert summary["lines"] == [
        {"name": "door", "counts": [{"label": "person", "in": 1, "out": 0}]}
    ]
    assert len(drawn) == 40 and all(width == 320 for width, *_ in drawn)
    assert drawn[-1][1] == (1, 0)  # the video's last caption is the summary's count
    assert set().union(*(ids for *_, ids in drawn)) == {1}  # the flicker is not drawn
    video = storage.local_path(EXPORT_BY_NAME["annotated.mp4"].key(job.job_id))
    capture = cv2.VideoCapture(video)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    ok, first = capture.read()
    capture.release()
    assert ok and abs(float(first[200:, 150:].mean()) - 30) < 8  # the upload's own picture
    assert Path(video).exists()
