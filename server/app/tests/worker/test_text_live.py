"""The text pipeline through the real API and worker: a clip with a large rendered word
is read, the word is one track, and it is in the summary's texts, detections.csv and
tracks.vtt."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest

from app.tests.fixtures.videos import write_mp4

pytestmark = pytest.mark.worker

WORD = "EXIT"


def word_frames(count: int = 30) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(count):
        frame = rng.integers(70, 90, size=(360, 640, 3), dtype=np.uint8)
        cv2.putText(frame, WORD, (170, 230), cv2.FONT_HERSHEY_SIMPLEX, 4, (255, 255, 255), 12)
        frames.append(frame)
    return frames


def test_a_rendered_word_is_read_as_one_track_in_summary_csv_and_vtt(services_factory, tmp_path):
    clip = write_mp4(tmp_path / "word.mp4", word_frames(), 10.0)
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip, "text")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"

    items = services.results(job_id)["results"]
    lines = [d for item in items for d in item["result"]["detections"]]
    assert len(items) == 30 and len(lines) == 30  # one line per frame
    assert {d["label"] for d in lines} == {"text"} and {d["text"] for d in lines} == {WORD}
    assert len({d["track_id"] for d in lines}) == 1
    assert sum(not d.get("carried") for d in lines) < 10  # read on a few frames only
    track_id = lines[0]["track_id"]

    summary = services.client.get(f"/video/jobs/{job_id}/summary").json()
    assert summary["texts"] == [
        {"text": WORD, "track_ids": [track_id], "start_ms": 0, "end_ms": items[-1]["timestamp_ms"]}
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(services.client.get(f"/video/jobs/{job_id}/detections.csv").text)
        )
    )
    assert len(rows) == 30 and {row["text"] for row in rows} == {WORD}
    vtt = services.client.get(f"/video/jobs/{job_id}/tracks.vtt").text
    assert f"text #{track_id}: {WORD}" in vtt


def test_objects_with_text_reads_the_word_beside_the_objects(services_factory, tmp_path):
    clip = write_mp4(tmp_path / "word.mp4", word_frames(10), 10.0)
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip, "objects_text")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"
    items = services.results(job_id)["results"]
    texts = [
        d["text"] for item in items for d in item["result"]["detections"] if d["label"] == "text"
    ]
    assert texts == [WORD] * 10
    summary = services.client.get(f"/video/jobs/{job_id}/summary").json()
    assert [t["text"] for t in summary["texts"]] == [WORD]
