"""Keyframes and black segments through the real API and worker: a shot of a
photograph, a cut to six black frames, then a second photograph."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.tests.fixtures.videos import write_mp4
from app.tests.integration.test_tracks_exports import FIRST_SHOT, two_shot_frames
from app.tests.worker.test_tracks_exports_live import submit
from app.tests.worker.test_web_page import SCREENSHOTS, browser, open_page

pytestmark = pytest.mark.worker
__all__ = ["browser"]  # the fixture, used here
BLACK = 6


@pytest.fixture(scope="module")
def black_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = two_shot_frames()
    black = np.zeros_like(frames[0])
    frames = frames[:FIRST_SHOT] + [black] * BLACK + frames[FIRST_SHOT:]
    return write_mp4(tmp_path_factory.mktemp("black") / "black_run.mp4", frames, 25.0)


def test_summary_lists_keyframes_and_black_segments_and_serves_each_keyframe(
    services_factory, black_clip: Path
):
    services = services_factory(keyframe_width=200)
    services.start_api()
    services.start_worker()
    job_id = submit(services, black_clip, pipeline_id="motion")
    assert services.wait_for(job_id)["status"] == "completed"
    client = services.client
    summary = client.get(f"/video/jobs/{job_id}/summary").json()
    # one boundary at the cut to black; the picture after it starts no other shot
    assert [s["start_frame"] for s in summary["shots"]] == [0, FIRST_SHOT]
    assert summary["black_segments"] == [
        {
            "start_ms": FIRST_SHOT * 40,
            "end_ms": (FIRST_SHOT + BLACK - 1) * 40,
            "start_frame": FIRST_SHOT,
            "end_frame": FIRST_SHOT + BLACK - 1,
        }
    ]
    for shot in summary["shots"]:
        keyframe = shot["keyframe"]
        assert shot["start_frame"] <= keyframe["frame_index"] <= shot["end_frame"]
        assert keyframe["frame_index"] >= FIRST_SHOT + BLACK or shot["index"] == 0
        response = client.get(f"/video/jobs/{job_id}/shots/{shot['index']}.jpg")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert "max-age" in response.headers["cache-control"]
        image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[1] == 200 and image.shape[0] == 150
        assert float(image.std()) > 10  # a picture, not the black run
    missing = client.get(f"/video/jobs/{job_id}/shots/{len(summary['shots'])}.jpg")
    assert missing.status_code == 404 and "fewer shots" in missing.json()["detail"]
    purged = client.delete(f"/video/jobs/{job_id}", params={"purge": "true"})
    assert purged.status_code in (200, 204), purged.text
    assert client.get(f"/video/jobs/{job_id}/shots/0.jpg").status_code == 410


def test_contact_sheet_export_is_one_jpeg_of_every_shot(services_factory, black_clip: Path):
    services = services_factory()
    services.start_api()
    services.start_worker()
    job_id = submit(services, black_clip, pipeline_id="motion")
    assert services.wait_for(job_id)["status"] == "completed"
    response = services.client.get(f"/video/jobs/{job_id}/contact_sheet.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    sheet = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert sheet is not None and sheet.shape[1] == 2 * 192 + 3 * 4  # two shots, one row


def test_the_page_shows_a_strip_of_keyframes_that_seeks(
    services_factory, black_clip: Path, browser
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    job_id = submit(services, black_clip, pipeline_id="motion", annotate="true")
    assert services.wait_for(job_id)["status"] == "completed"
    url = f"http://127.0.0.1:{services.api_port}/#job={job_id}"
    page = open_page(browser, url, width=1100, timeout_ms=60_000)
    page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('#keyframes img')];"
        " return i.length === 2 && i.every((x) => x.complete && x.naturalWidth); }",
        timeout=60_000,
    )
    page.locator("#keyframes figure").nth(1).click()
    page.wait_for_function(
        "() => { const v = document.querySelector('#annotated-video');"
        f" return v && Math.abs(v.currentTime * 1000 - {(FIRST_SHOT + BLACK) * 40}) < 400; }}",
        timeout=30_000,
    )
    if SCREENSHOTS:
        page.locator("#media").screenshot(path=str(Path(SCREENSHOTS) / "web-keyframes.png"))
    assert page.errors == []
