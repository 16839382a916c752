"""Shots on every job, the summary's numbers, and the shapes of the CSV and WebVTT."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from app.adapters.exports.detections_csv import HEADER, DetectionsCsvSink
from app.adapters.exports.summary import SummarySink
from app.adapters.pipeline.shots import ShotStage
from app.adapters.storage.in_memory import InMemoryStorage
from app.cli.reports import summary_lines
from app.domain.detections import Detection
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import Frame
from app.domain.model import summary_key
from app.domain.summary import SummaryBuilder
from app.tests.unit.scenes import shots_clip

pytestmark = pytest.mark.unit

JOB = uuid.UUID("00000000-0000-4000-8000-000000000014")
VIDEO = {"fps": 10.0, "frame_count": 6, "width": 320, "height": 240, "duration_s": 0.6}


def test_shots_stage_numbers_the_shots_at_the_cuts():
    frames, cuts = shots_clip([12, 15, 10])
    stage = ShotStage()
    shots = []
    for index, image in enumerate(frames):
        frame = Frame(index, index * 40, image)
        stage.process(frame)
        shots.append(frame.shot)
        assert frame.result == {}  # nothing new in the results
    starts = [i for i in range(1, len(shots)) if shots[i] != shots[i - 1]]
    assert starts == cuts
    assert shots[0] == 0 and shots[-1] == 2


def test_shots_stage_reads_the_scene_cuts_step_when_the_pipeline_ran_it():
    stage = ShotStage(detector=lambda: pytest.fail("must not score again"))
    marks = [False, False, True, False, True]
    shots = []
    for index, cut in enumerate(marks):
        frame = Frame(index, index * 40, None, {"scene_cut": cut, "score": 0.0})
        stage.process(frame)
        shots.append(frame.shot)
    assert shots == [0, 0, 1, 1, 2]


def person(track_id: int, x: int, confidence: float) -> Detection:
    return Detection("person", [x, 10, 20, 40], confidence, track_id=track_id)


def dog(track_id: int, confidence: float) -> Detection:
    return Detection("dog", [100, 50, 30, 20], confidence, track_id=track_id)


# (index, timestamp_ms, shot, detections, tracks ended): 100 ms per frame, a cut
# before frame 4 ends tracks 1 and 2.
SEQUENCE = [
    (0, 0, 0, [person(1, 10, 0.6)], []),
    (1, 100, 0, [person(1, 12, 0.9), dog(2, 0.5)], []),
    (2, 200, 0, [person(1, 14, 0.7), dog(2, 0.8)], []),
    (3, 300, 0, [], []),
    (4, 400, 1, [person(4, 90, 0.4), person(3, 50, 0.95)], [1, 2]),
    (5, 500, 1, [person(3, 52, 0.5)], []),
]


def build(shots: list | None = None, tracks: list | None = None) -> SummaryBuilder:
    builder = SummaryBuilder(
        None if shots is None else shots.append, None if tracks is None else tracks.append
    )
    for index, timestamp_ms, shot, detections, ended in SEQUENCE:
        builder.add(index, timestamp_ms, detections, shot, ended)
        if index == 3:
            assert tracks == []  # nothing is handed over before a track ends
    builder.finish()
    return builder


def test_summary_shots_labels_and_tracks_of_a_known_sequence():
    shots: list = []
    finished: list = []
    builder = build(shots, finished)
    assert shots == [
        {"index": 0, "start_frame": 0, "end_frame": 3, "start_ms": 0, "end_ms": 300},
        {"index": 1, "start_frame": 4, "end_frame": 5, "start_ms": 400, "end_ms": 500},
    ]
    labels = {item["label"]: item for item in builder.labels()}
    # person on frames 0, 1, 2, 4, 5: each covers 100 ms (the last as long as the one before).
    assert labels["person"] == {
        "label": "person",
        "tracks": 3,
        "individuals": 3,
        "frames": 5,
        "screen_time_ms": 500,
        "max_confidence": 0.95,
    }
    assert labels["dog"] == {
        "label": "dog",
        "tracks": 1,
        "individuals": 1,
        "frames": 2,
        "screen_time_ms": 200,
        "max_confidence": 0.8,
    }
    # Tracks are handed over as they end: 1 and 2 at the cut, the rest at the end.
    assert [t.track_id for t in finished] == [1, 2, 3, 4]
    tracks = {t.track_id: t.to_dict() for t in finished}
    assert tracks[1] == {
        "track_id": 1,
        "label": "person",
        "first_frame": 0,
        "last_frame": 2,
        "start_ms": 0,
        "end_ms": 200,
        "frames": 3,
        "max_confidence": 0.9,
        "best_frame": 1,
        "best_bbox": [12, 10, 20, 40],
    }
    assert (tracks[3]["first_frame"], tracks[3]["last_frame"], tracks[3]["frames"]) == (4, 5, 2)
    assert (tracks[4]["start_ms"], tracks[4]["end_ms"], tracks[4]["best_frame"]) == (400, 400, 4)


def test_tracks_vtt_has_one_cue_per_track():
    storage = InMemoryStorage()
    sink = SummarySink(storage, JOB)
    for frame in frames():
        sink.add(frame)
    sink.close(VIDEO)
    text = storage.load_file(EXPORT_BY_NAME["tracks.vtt"].key(JOB)).decode()
    assert text.startswith("WEBVTT\n\n")
    cues = [block.split("\n") for block in text.strip().split("\n\n")[1:]]
    assert [cue[0] for cue in cues] == ["1", "2", "3", "4"]
    assert cues[0][1:] == ["00:00:00.000 --> 00:00:00.300", "person #1"]
    assert cues[1][1:] == ["00:00:00.100 --> 00:00:00.300", "dog #2"]
    assert cues[3][1:] == ["00:00:00.400 --> 00:00:00.500", "person #4"]


def frames() -> list[Frame]:
    return [
        Frame(index, ms, None, detections=detections, shot=shot, ended_tracks=ended)
        for index, ms, shot, detections, ended in SEQUENCE
    ]


def test_summary_sink_writes_summary_and_vtt_at_close_and_removes_them_on_abort():
    storage = InMemoryStorage()
    sink = SummarySink(storage, JOB)
    for frame in frames():
        sink.add(frame)
    assert not storage.exists(summary_key(JOB))  # nothing visible before close
    sink.close(VIDEO, ["decoding stopped early"])
    document = json.loads(storage.load_file(summary_key(JOB)))
    assert set(document) == {
        "job_id",
        "video",
        "warnings",
        "shots",
        "labels",
        "tracks",
        "texts",
        "persons",
        "black_segments",
    }
    assert document["job_id"] == str(JOB) and document["video"] == VIDEO
    assert document["warnings"] == ["decoding stopped early"]
    assert [t["track_id"] for t in document["tracks"]] == [1, 2, 3, 4]
    assert [(s["start_frame"], s["end_frame"]) for s in document["shots"]] == [(0, 3), (4, 5)]
    assert storage.load_file(EXPORT_BY_NAME["tracks.vtt"].key(JOB)).startswith(b"WEBVTT")
    sink.abort()
    assert not storage.exists(summary_key(JOB)) and not storage.exists(
        EXPORT_BY_NAME["tracks.vtt"].key(JOB)
    )


def test_detections_csv_has_the_contract_header_and_one_row_per_detection():
    storage = InMemoryStorage()
    sink = DetectionsCsvSink(storage, JOB)
    for frame in frames():
        sink.add(frame)
    qr = Detection("qr", [1, 2, 3, 4], 1.0, text='a,"b"\nc')
    sink.add(Frame(6, 600, None, detections=[qr]))
    assert not storage.exists(
        EXPORT_BY_NAME["detections.csv"].key(JOB)
    )  # nothing visible before close
    sink.close(VIDEO)
    rows = list(
        csv.reader(
            io.StringIO(storage.load_file(EXPORT_BY_NAME["detections.csv"].key(JOB)).decode())
        )
    )
    assert (
        tuple(rows[0])
        == HEADER
        == (
            "frame_index",
            "timestamp_ms",
            "label",
            "track_id",
            "x",
            "y",
            "w",
            "h",
            "confidence",
            "text",
        )
    )
    assert len(rows) == 1 + 8 + 1
    assert rows[1] == ["0", "0", "person", "1", "10", "10", "20", "40", "0.6", ""]
    assert rows[-1] == ["6", "600", "qr", "", "1", "2", "3", "4", "1.0", 'a,"b"\nc']
    sink.abort()
    assert not storage.exists(EXPORT_BY_NAME["detections.csv"].key(JOB))


def test_tracks_are_listed_in_the_order_they_began_in_the_summary_vtt_and_cli():
    # Track 1 is seen throughout; track 2 comes after it and ends first.
    long_and_short = [
        Frame(0, 0, None, detections=[person(1, 10, 0.9)]),
        Frame(1, 100, None, detections=[person(1, 10, 0.9), dog(2, 0.7)]),
        Frame(2, 200, None, detections=[person(1, 10, 0.9)], ended_tracks=[2]),
        Frame(3, 300, None, detections=[person(1, 10, 0.9)]),
    ]
    storage = InMemoryStorage()
    sink = SummarySink(storage, JOB)
    for frame in long_and_short:
        sink.add(frame)
    sink.close(VIDEO)
    document = json.loads(storage.load_file(summary_key(JOB)))
    assert [(t["track_id"], t["start_ms"]) for t in document["tracks"]] == [(1, 0), (2, 100)]
    vtt = storage.load_file(EXPORT_BY_NAME["tracks.vtt"].key(JOB)).decode()
    assert vtt.index("person #1") < vtt.index("dog #2")
    ended_first = {"tracks": list(reversed(document["tracks"]))}  # as older servers wrote
    rows = [line.split()[0] for line in summary_lines(ended_first) if line.startswith("#")]
    assert rows == ["#1", "#2"]
