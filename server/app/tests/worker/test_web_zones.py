"""The page's zone drawing tool in Chromium: draw a line on the chosen file (shown from
an object URL, nothing uploaded), submit, and read the line's count in the results."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from app.tests.worker.test_web_page import browser, open_page, screenshot
from app.tests.worker.test_zones_live import FPS, HEIGHT, WIDTH, sliding_face_frames

pytestmark = pytest.mark.worker
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def sliding_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """H.264, so Chromium can show the chosen file (as it shows most phones' videos)."""
    path = tmp_path_factory.mktemp("webzones") / "slide.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for image in sliding_face_frames():
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path


def test_a_line_drawn_on_the_page_is_counted(services_factory, browser, sliding_clip, tmp_path):
    services = services_factory()
    services.start_api()
    services.start_worker()
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")
    page.select_option("#pipeline-select", "faces")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.method + " " + request.url))
    page.set_input_files("#file-input", str(sliding_clip))
    page.click("#zones-options summary")
    page.wait_for_function(
        "() => document.querySelector('#zone-svg').getAttribute('viewBox') === '0 0 640 360'"
    )
    assert not any(r.startswith("POST") for r in requests)  # the file is only shown
    page.fill("#zone-name", "gate")
    box = page.locator("#zone-svg").bounding_box()

    def click(x: float, y: float) -> None:
        page.mouse.click(box["x"] + x / WIDTH * box["width"], box["y"] + y / HEIGHT * box["height"])

    click(300, 355)  # bottom to top: moving right is "in"
    click(300, 5)
    assert "gate" in page.inner_text("#zone-list")
    page.wait_for_timeout(200)
    drawing = screenshot(page, tmp_path, "web-zones-drawing.png")
    assert drawing.stat().st_size > 5_000

    page.click("#upload-button")
    page.wait_for_selector("#upload-message[data-job-id]")
    job_id = page.get_attribute("#upload-message", "data-job-id")
    zones = services.status(job_id)["options"]["zones"]
    (line,) = zones["lines"]
    assert line["name"] == "gate" and abs(line["points"][0][0] - 300) <= 3, json.dumps(zones)

    row = f'#jobs tr[data-job-id="{job_id}"]'
    page.wait_for_selector(f'{row}[data-status="completed"]', timeout=120_000)
    page.click(f"{row} a.results-link")
    page.wait_for_selector("#zone-counts")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#zones-view img')].some((i) => i.naturalWidth > 0)"
    )
    counts = page.inner_text("#zone-counts")
    assert "line gate" in counts and "in 1 · out 0" in counts, counts
    assert "gate: in 1 · out 0" in page.eval_on_selector("#zones-view svg", "s => s.textContent")
    assert "events.csv" in page.inner_text("#downloads")
    page.locator("#zones-view").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = screenshot(page, tmp_path, "web-zones.png")
    assert shot.stat().st_size > 10_000
    assert page.errors == []
