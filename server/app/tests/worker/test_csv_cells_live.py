"""Hostile QR payloads through the real API and worker: detections.csv carries them as
inert text (a leading quote, quoted, no escape bytes); results keep the decoded text."""

from __future__ import annotations

import csv
import io

import pytest

from app.tests.fixtures.videos import write_mp4
from app.tests.unit.scenes import paste_rotated, qr_code, textured_background

pytestmark = pytest.mark.worker

PAYLOADS = ("=cmd|' /C calc'!A0", '@SUM(1+1)*HYPERLINK("http://x")', "\x1b]0;pwned\x07-JOB")
SAFE = {"'=cmd|' /C calc'!A0", '\'@SUM(1+1)*HYPERLINK("http://x")', "'-JOB"}


def test_formula_payloads_in_qr_codes_are_inert_in_detections_csv(services_factory, tmp_path):
    frames = []
    for i in range(6):
        frame = textured_background(960, 360, seed=i)
        for text, cx in zip(PAYLOADS, (170, 480, 790), strict=True):
            paste_rotated(frame, qr_code(text, 5), (cx, 180), angle=0)
        frames.append(frame)
    clip = write_mp4(tmp_path / "codes.mp4", frames)
    services = services_factory()
    services.start_api()
    job_id = services.submit(clip, "qr")
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"
    items = services.results(job_id)["results"]
    texts = {d["text"] for item in items for d in item["result"]["detections"]}
    assert texts == set(PAYLOADS)  # the results document keeps what the code says

    response = services.client.get(f"/video/jobs/{job_id}/detections.csv")
    assert response.status_code == 200
    assert "\x1b" not in response.text and "\x07" not in response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and {row["text"] for row in rows} == SAFE
    assert "\"'=cmd|' /C calc'!A0\"" in response.text
