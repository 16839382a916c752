"""The per-track table: the confirmation rule, the life-long label vote, one label per
object, joining tracks of one individual, and the finishing pass that rewrites results
and feeds the summary and CSV from it."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from app.adapters.exports.detections_csv import DetectionsCsvSink
from app.adapters.exports.summary import SummarySink
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.detections import Detection
from app.domain.finishing import FinishingWriter
from app.domain.frames import Frame
from app.domain.model import Job
from app.domain.results_writer import ResultsWriter
from app.domain.track_facts import ConfirmationRule, TrackFacts

pytestmark = pytest.mark.unit

RULE = ConfirmationRule(min_hits=3, min_score=1.5, min_duration_ms=300)


def det(label, box, score, track, carried=False):
    return Detection(label, box, score, track_id=track, carried=carried, tracked=carried)


def frame(index, detections, shot=0, step_ms=100):
    return Frame(index, index * step_ms, None, {}, shot=shot, detections=list(detections))


def facts_of(frames, rule=RULE) -> TrackFacts:
    facts = TrackFacts(rule)
    for f in frames:
        facts.observe(f)
    return facts


def test_a_track_needs_hits_score_and_duration_and_carried_boxes_are_not_hits():
    frames = []
    for i in range(10):
        found = [det("person", [10 + i, 10, 20, 40], 0.8, 1)]
        if i < 2:
            found.append(det("person", [200, 10, 20, 40], 0.9, 2))  # a flicker of two frames
        # track 3: one real detection, then the tracker's held and carried boxes only
        found.append(det("person", [400, 10, 20, 40], 0.95, 3, carried=i > 0))
        if i < 5:
            found.append(det("person", [600, 10, 20, 40], 0.3, 4))  # five weak hits: 1.5
        frames.append(frame(i, found))
    facts = facts_of(frames)
    facts.settle()
    confirmed = {t.track_id for t in facts.tracks()}
    assert confirmed == {1, 4}
    assert facts.get(3).hits == 1 and facts.get(3).duration_ms == 900
    assert facts.individuals() == {"person": 2}


def test_a_shot_shorter_than_the_rule_caps_what_it_asks():
    # a one-frame video (a photo): one confident detection is an object
    facts = facts_of([frame(0, [det("face", [0, 0, 30, 30], 0.9, 1)])])
    facts.settle()
    assert [t.track_id for t in facts.tracks()] == [1]


def test_the_label_is_voted_over_the_life_weighted_by_confidence():
    labels = [("dog", 0.6), ("cat", 0.4), ("cat", 0.4), ("dog", 0.7), ("cat", 0.3)]
    frames = [frame(i, [det(lab, [0, 0, 50, 50], s, 7)]) for i, (lab, s) in enumerate(labels)]
    facts = facts_of(frames)
    facts.settle()
    assert facts.get(7).label == "dog"  # 1.3 against 1.1
    assert facts.rewrite({"label": "cat", "track_id": 7, "bbox": [0, 0, 50, 50]})["label"] == "dog"


def test_one_object_never_holds_two_labels_at_once():
    # a per-label tracker gives the same box a "dog" and a "cat" track side by side
    frames = [
        frame(i, [det("dog", [0, 0, 50, 50], 0.6, 1), det("cat", [2, 1, 50, 50], 0.4, 2)])
        for i in range(6)
    ]
    facts = facts_of(frames)
    facts.settle()
    assert [(t.track_id, t.label) for t in facts.tracks()] == [(1, "dog")]
    assert facts.rewrite({"label": "cat", "track_id": 2})["confirmed"] is False
    assert facts.individuals() == {"dog": 1}


def test_a_track_lost_and_found_again_where_it_was_heading_is_one_individual():
    frames = []
    for i in range(20):
        found = []
        if i < 8:  # walks right 5 px per 100 ms, then unseen for 400 ms (the tracker gave up)
            found.append(det("person", [100 + 5 * i, 50, 30, 80], 0.9, 1))
        if i >= 12:
            found.append(det("person", [100 + 5 * i, 50, 30, 80], 0.9, 2))
        if i >= 12:  # someone else, far away, starting at the same time
            found.append(det("person", [600, 300, 30, 80], 0.9, 3))
        frames.append(frame(i, found))
    facts = facts_of(frames)
    facts.settle()
    assert [t.track_id for t in facts.tracks()] == [1, 2, 3]
    assert facts.individuals() == {"person": 2}
    assert facts.get(2).individual == 1 and facts.get(3).individual == 3


def test_tracks_in_different_shots_are_not_joined_but_one_person_id_is_one_individual():
    frames = [frame(i, [det("face", [10, 10, 40, 40], 0.9, 1)]) for i in range(5)]
    frames += [frame(i, [det("face", [10, 10, 40, 40], 0.9, 2)], shot=1) for i in range(6, 11)]
    facts = facts_of(frames)
    facts.settle()
    assert facts.individuals() == {"face": 2}
    again = facts_of(frames)
    again.set_person_id(1, 1)
    again.set_person_id(2, 1)
    again.settle()
    assert again.individuals() == {"face": 1}
    assert again.rewrite({"label": "face", "track_id": 2})["person_id"] == 1


def test_the_finishing_pass_rewrites_results_and_feeds_summary_and_csv_confirmed_only():
    storage = InMemoryStorage()
    job = Job(job_id=uuid.uuid4(), pipeline_id="objects", input_path="a.mp4")
    summary = SummarySink(storage, job.job_id)
    table = DetectionsCsvSink(storage, job.job_id)
    finishing = FinishingWriter(ResultsWriter(storage, job), TrackFacts(RULE), [summary, table])
    for i in range(8):
        found = [det("dog" if i != 3 else "cat", [10 + 3 * i, 10, 40, 40], 0.8, 1)]
        if i in (2, 3):
            found.append(det("bird", [300, 10, 20, 20], 0.4, 2))  # a flicker
        finishing.add(frame(i, found))
    finishing.close({"fps": 10.0}, [])
    results = json.loads(storage.load_file(f"{job.job_id}_results.json"))["results"]
    every = [d for item in results for d in item["result"]["detections"]]
    assert {d["label"] for d in every if d["track_id"] == 1} == {"dog"}
    assert [d.get("confirmed") for d in every if d["track_id"] == 2] == [False, False]
    assert all("confirmed" not in d for d in every if d["track_id"] == 1)
    lines = storage.load_file(f"{job.job_id}_results.jsonl").splitlines()
    assert [json.loads(line) for line in lines] == results
    document = json.loads(storage.load_file(f"{job.job_id}_summary.json"))
    assert [(t["track_id"], t["label"], t["frames"]) for t in document["tracks"]] == [(1, "dog", 8)]
    assert [(x["label"], x["tracks"], x["individuals"]) for x in document["labels"]] == [
        ("dog", 1, 1)
    ]
    rows = list(
        csv.DictReader(io.StringIO(storage.load_file(f"{job.job_id}_detections.csv").decode()))
    )
    assert {(r["label"], r["track_id"]) for r in rows} == {("dog", "1")} and len(rows) == 8
    vtt = storage.load_file(f"{job.job_id}_tracks.vtt").decode()
    assert "dog #1" in vtt and "bird" not in vtt and "cat" not in vtt


def test_the_cli_summary_table_shows_individuals_per_label():
    from app.cli.reports import summary_lines

    summary = {
        "shots": [],
        "labels": [{"label": "person", "tracks": 5, "individuals": 3, "frames": 9}],
        "tracks": [],
    }
    lines = summary_lines(summary)
    header = next(line for line in lines if line.startswith("LABEL "))
    assert header.split()[:3] == ["LABEL", "INDIVIDUALS", "TRACKS"]
    assert lines[lines.index(header) + 1].split()[:3] == ["person", "3", "5"]


def test_a_line_of_text_read_once_is_confirmed_but_a_person_seen_once_is_not():
    frames = [
        frame(0, [det("text", [10, 10, 80, 20], 0.9, 1), det("person", [200, 10, 20, 40], 0.9, 2)]),
        *(frame(i, [det("text", [10, 10, 80, 20], 0.9, 1, carried=True)]) for i in range(1, 10)),
    ]
    facts = facts_of(frames)
    facts.settle()
    assert {t.track_id for t in facts.tracks()} == {1}
    weak = facts_of([frame(0, [det("text", [10, 10, 80, 20], 0.4, 1)]), frame(5, [])])
    weak.settle()
    assert list(weak.tracks()) == []  # one reading still needs its share of the score
