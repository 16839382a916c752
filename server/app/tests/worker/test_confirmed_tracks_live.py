"""Confirmed tracks through the real API and worker: a face that flickers into two
frames is in the per-frame results (marked `"confirmed": false`) but not in the
summary, detections.csv or tracks.vtt; and those three agree with each other."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import cv2
import pytest

from app.tests.fixtures.videos import write_mp4
from app.tests.integration.test_tracks_exports import two_shot_frames
from app.tests.unit.scenes import astronaut
from app.tests.worker.test_tracks_exports_live import submit

pytestmark = pytest.mark.worker

FLICKER = (12, 13)  # a detection run (every 3rd frame) sees frame 12 only


@pytest.fixture(scope="module")
def flicker_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = two_shot_frames()
    face = cv2.resize(astronaut(), (384, 384))[15:175, 105:245]  # her face, with margin
    for index in FLICKER:
        frames[index][195:355, 320:460] = face  # a second face, for two frames only
    return write_mp4(tmp_path_factory.mktemp("flicker") / "flicker.mp4", frames, 25.0)


def test_a_flicker_stays_in_results_marked_unconfirmed_and_out_of_summary_csv_vtt(
    services_factory, flicker_clip: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    job_id = submit(services, flicker_clip, pipeline_id="faces")
    assert services.wait_for(job_id)["status"] == "completed"
    client = services.client
    results = services.results(job_id)["results"]
    detections = [
        (item["frame_index"], d) for item in results for d in item["result"].get("detections", [])
    ]
    flicker = {d["track_id"] for i, d in detections if i in FLICKER and d["bbox"][0] >= 250}
    assert flicker, "the flickering face was not detected at all"
    unconfirmed = [d for _, d in detections if d["track_id"] in flicker]
    assert unconfirmed and all(d["confirmed"] is False for d in unconfirmed)
    reported = [(i, d) for i, d in detections if "confirmed" not in d]
    assert reported and all(d["label"] == "face" for _, d in reported)

    summary = client.get(f"/video/jobs/{job_id}/summary").json()
    summary_ids = {t["track_id"] for t in summary["tracks"]}
    assert summary_ids == {d["track_id"] for _, d in reported} and not summary_ids & flicker
    (face,) = summary["labels"]
    assert face["label"] == "face" and face["tracks"] == len(summary_ids)
    assert face["individuals"] <= face["tracks"]
    for track in summary["tracks"]:
        frames = {i for i, d in reported if d["track_id"] == track["track_id"]}
        assert track["frames"] == len(frames) and track["first_frame"] == min(frames)

    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/video/jobs/{job_id}/detections.csv").text))
    )
    assert sorted((int(r["frame_index"]), int(r["track_id"])) for r in rows) == sorted(
        (i, d["track_id"]) for i, d in reported
    )
    vtt = client.get(f"/video/jobs/{job_id}/tracks.vtt").text
    assert all(f"face #{t}" in vtt for t in summary_ids)
    assert not any(f"#{t}\n" in vtt or f"#{t}" == vtt.split()[-1] for t in flicker)
