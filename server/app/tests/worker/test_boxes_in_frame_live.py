"""Every box inside the frame, through the real API and worker: a face that slides out
past the right edge while the faces pipeline detects every 3rd frame and the tracker
carries its box in between. Results, detections.csv and the summary's best_bbox."""

from __future__ import annotations

import csv
import io

import cv2
import pytest

from app.tests.fixtures.videos import leaving_frames, write_mp4
from app.tests.unit.scenes import astronaut

pytestmark = pytest.mark.worker

WIDTH, HEIGHT = 480, 320


def inside_frame(box: list[int]) -> bool:
    x, y, w, h = box
    return x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= WIDTH and y + h <= HEIGHT


def test_a_face_leaving_the_frame_keeps_every_box_inside_it(services_factory, tmp_path):
    portrait = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    # 16 px a frame: the carried box runs 6 px past the edge by the 2nd frame carried.
    clip = write_mp4(tmp_path / "leaving.mp4", leaving_frames(portrait, 32, WIDTH, HEIGHT, 16))
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip, "faces")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"

    items = services.results(job_id)["results"]
    boxes = [(i["frame_index"], d) for i in items for d in i["result"]["detections"]]
    carried = [d for _, d in boxes if d.get("carried")]
    assert carried, "the faces pipeline carried no box: the test shows nothing"
    assert max(d["bbox"][0] + d["bbox"][2] for _, d in boxes) > WIDTH - 40  # near the edge
    outside = [(index, d["bbox"]) for index, d in boxes if not inside_frame(d["bbox"])]
    assert outside == []

    response = services.client.get(f"/video/jobs/{job_id}/detections.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows
    for row in rows:
        assert inside_frame([int(row[key]) for key in ("x", "y", "w", "h")]), row

    summary = services.client.get(f"/video/jobs/{job_id}/summary").json()
    assert summary["tracks"]
    for track in summary["tracks"]:
        assert inside_frame(track["best_bbox"]), track
    for person in summary.get("persons", []):
        assert inside_frame(person["best_bbox"]), person
