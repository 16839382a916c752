"""The web page in a real browser (headless Chromium via Playwright) against a real API and
worker: upload through the form with options, follow, find, page through and cancel jobs,
and look at a job's results: timeline of shots and tracks, the annotated video playing,
downloads."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.tests.fixtures.videos import make_moving_box_mp4, write_mp4
from app.tests.unit.scenes import astronaut, rgb_to_bgr
from app.tests.worker.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.worker

# Set to a folder to keep the screenshots (docs/images/web-page.png comes from here).
SCREENSHOTS = os.environ.get("VIDEO_JOBS_TEST_SCREENSHOTS")
THUMBNAIL_LOADED = """() => [...document.querySelectorAll('#thumbs img')]
    .some((img) => img.complete && img.naturalWidth > 0)"""
VIDEO_PLAYING = """() => { const v = document.querySelector('#annotated-video');
    return !v.hidden && v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0.3; }"""
FPS = 25.0


@pytest.fixture
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set VIDEO_JOBS_TEST_CHROMIUM to another path)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def two_shot_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of a photograph with a face panning, cut to 2 s of another (no face)."""
    import skimage.data

    still = cv2.resize(astronaut(), (360, 360))
    frames = []
    for i in range(75):
        canvas = np.full((360, 640, 3), 90, np.uint8)
        x = 20 + 3 * i
        canvas[:, x : x + 360] = still
        frames.append(canvas)
    coffee = cv2.resize(rgb_to_bgr(skimage.data.coffee()), (640, 360))
    frames += [np.roll(coffee, 2 * i, axis=1) for i in range(50)]
    return write_mp4(tmp_path_factory.mktemp("web") / "astronaut walk.mp4", frames, FPS)


def open_page(browser, url: str, width: int = 1100, timeout_ms: int = 30_000):
    """The page at `url`, ready once its pipeline list has loaded; errors it throws are
    collected in `page.errors`."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    page.wait_for_selector("#pipeline-select option[value=motion]", state="attached")
    return page


def upload(page, clip: Path, pipeline: str = "motion", tag: str = "", **options: str) -> str:
    """Upload through the form (with options); returns the job id."""
    page.select_option("#pipeline-select", pipeline)
    page.set_input_files("#file-input", str(clip))
    page.fill("#tag-input", tag)
    if options:
        page.click("#options summary")
    for name, value in options.items():
        if name == "annotate":
            page.check("#opt-annotate")
        else:
            page.fill(f"#opt-{name.replace('_', '-')}", value)
    page.click("#upload-button")
    page.wait_for_selector("#upload-message[data-job-id]")
    return page.get_attribute("#upload-message", "data-job-id")


def show_results(page, job_id: str) -> None:
    row = f'#jobs tr[data-job-id="{job_id}"]'
    page.wait_for_selector(f'{row}[data-status="completed"]', timeout=120_000)
    page.click(f"{row} a.results-link")
    page.wait_for_selector("#plot polyline")
    page.wait_for_function(THUMBNAIL_LOADED)


def screenshot(page, tmp_path: Path, name: str) -> Path:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_upload_complete_and_results_in_the_browser(
    services_factory, browser, clip_path: Path, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")

    job_id = upload(page, clip_path, tag="boxes")
    show_results(page, job_id)

    assert page.eval_on_selector("#upload-progress", "bar => bar.value") == 1
    status = services.status(job_id)
    assert status["status"] == "completed" and status["tag"] == "boxes"
    row = page.inner_text(f'#jobs tr[data-job-id="{job_id}"] td.name')
    assert clip_path.name in row and "boxes" in row and job_id[:8] not in row
    assert page.input_value("#series-select") == "motion_ratio"
    points = page.get_attribute("#plot polyline", "points").split()
    assert len(points) == 30  # one point per frame
    thumbs = page.eval_on_selector_all("#thumbs img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(thumbs) == 6 and max(thumbs) == 320
    assert "30 frames analysed" in page.inner_text("#results-summary")
    assert page.inner_text("#results-title") == clip_path.name
    links = page.eval_on_selector_all("#downloads a", "as => as.map(a => a.textContent)")
    assert links == ["detections.csv", "tracks.vtt", "chapters.vtt", "results.json"]  # no video
    assert page.is_hidden("#annotated-video")
    assert page.errors == []


def test_annotated_video_plays_above_a_timeline_of_shots_and_tracks(
    services_factory, browser, two_shot_clip: Path, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")

    job_id = upload(page, two_shot_clip, "faces", tag="astronaut", annotate="true")
    show_results(page, job_id)
    assert services.status(job_id)["options"]["annotate"] is True

    summary = services.client.get(f"/video/jobs/{job_id}/summary").json()
    page.wait_for_selector("#timeline rect.shot")
    assert page.eval_on_selector_all("#timeline rect.shot", "r => r.length") == len(
        summary["shots"]
    )
    assert len(summary["shots"]) == 2
    lanes = page.eval_on_selector_all(
        "#timeline rect.track", "r => [...new Set(r.map(x => x.dataset.track))]"
    )
    assert lanes == [str(t["track_id"]) for t in summary["tracks"]] and lanes
    lane_text = page.eval_on_selector("#timeline", "s => s.textContent")
    assert re.search(r"face #\d+", lane_text)
    assert "0:04" in lane_text  # seconds on the axis of a 5-second clip
    assert "2 shot(s)" in page.inner_text("#timeline-message")

    page.eval_on_selector("#annotated-video", "v => { v.muted = true; return v.play(); }")
    page.wait_for_function(VIDEO_PLAYING, timeout=30_000)
    size = page.eval_on_selector("#annotated-video", "v => [v.videoWidth, v.videoHeight]")
    assert size == [640, 360]
    video_box = page.locator("#annotated-video").bounding_box()
    timeline_box = page.locator("#timeline").bounding_box()
    assert timeline_box["y"] >= video_box["y"] + video_box["height"] - 1  # the lane under it
    assert page.get_attribute("#timeline line.playhead", "visibility") == "visible"

    links = page.eval_on_selector_all("#downloads a", "as => as.map(a => a.textContent)")
    exports = ["detections.csv", "tracks.vtt", "chapters.vtt", "annotated.mp4", "results.json"]
    assert links == exports
    csv_href = page.get_attribute("#downloads a:first-child", "href")
    csv = page.request.get(f"http://127.0.0.1:{services.api_port}{csv_href}")
    assert csv.ok and csv.text().startswith("frame_index,timestamp_ms,label,track_id")

    page.eval_on_selector("#annotated-video", "v => v.pause()")
    width = timeline_box["width"]
    page.click("#timeline", position={"x": 0.39 * width, "y": 30})  # 1.5 s: seek there
    page.wait_for_function(
        "() => Math.abs(document.querySelector('#annotated-video').currentTime - 1.5) < 0.2"
    )
    page.wait_for_selector("#frame-view img")
    page.wait_for_timeout(300)  # let the seek's first frame paint before the picture
    shot = screenshot(page, tmp_path, "web-page.png")
    assert shot.stat().st_size > 10_000
    assert page.errors == []


def add_jobs(services, clip: Path, tags: list[str]) -> list[str]:
    ids = []
    for tag in tags:
        with open(clip, "rb") as handle:
            response = services.client.post(
                "/video/submit",
                files={"file": (f"{tag}.mp4", handle, "video/mp4")},
                data={"tag": tag},
            )
        assert response.status_code == 200, response.text
        ids.append(response.json()["job_id"])
    return ids


def test_search_by_tag_paging_and_cancel(services_factory, browser, tmp_path: Path):
    services = services_factory()
    services.start_api()  # no worker: the jobs stay pending
    clip = make_moving_box_mp4(tmp_path / "tiny.mp4", count=3, width=64, height=48)
    ids = add_jobs(services, clip, [f"batch-{i}" for i in range(26)] + ["needle"])
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")

    page.wait_for_selector(f'#jobs tr[data-job-id="{ids[-1]}"]')
    assert page.eval_on_selector_all("#jobs tbody tr", "r => r.length") == 25
    assert page.inner_text("#page-info") == "1\u201325 of 27"
    assert page.is_disabled("#page-prev")
    page.click("#page-next")
    page.wait_for_selector(f'#jobs tr[data-job-id="{ids[0]}"]')
    assert page.eval_on_selector_all("#jobs tbody tr", "r => r.length") == 2
    assert page.inner_text("#page-info") == "26\u201327 of 27"
    assert page.is_disabled("#page-next")

    page.fill("#search-tag", "needle")
    page.click("#search-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#jobs tbody tr').length === 1")
    row = f'#jobs tr[data-job-id="{ids[-1]}"]'
    assert page.inner_text(f"{row} td.name").startswith("needle.mp4")
    assert "of 1 tagged" in page.inner_text("#page-info")

    page.set_viewport_size({"width": 400, "height": 900})  # a phone: cancel still on screen
    box = page.locator(f"{row} button.cancel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 400
    page.click(f"{row} button.cancel")
    page.wait_for_selector(f'{row}[data-status="canceled"]')
    assert services.status(ids[-1])["status"] == "canceled"
    assert page.locator(f"{row} button.cancel").count() == 0  # none once it is over
    page.set_viewport_size({"width": 1100, "height": 900})
    page.fill("#search-tag", "nothing-has-this")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#jobs-empty:not([hidden])")
    page.click("#search-clear")
    page.wait_for_function("() => document.querySelectorAll('#jobs tbody tr').length === 25")
    assert page.errors == []


def test_a_running_job_shows_percent_and_eta_and_can_be_canceled(
    services_factory, browser, slow_pipeline_dir: Path, long_clip: Path
):
    services = services_factory(pipelines_dir=slow_pipeline_dir)
    services.start_api()
    services.start_worker()
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")
    page.wait_for_selector("#pipeline-select option[value=slow]", state="attached")
    job_id = upload(page, long_clip, "slow", tag="long one")
    row = f'#jobs tr[data-job-id="{job_id}"]'
    page.wait_for_function(
        f"""() => /\\d+% · ETA /.test(
            (document.querySelector('{row} .job-progress') || {{}}).textContent || '')""",
        timeout=60_000,
    )
    text = page.inner_text(f"{row} .job-progress")
    percent = int(text.split("%")[0])
    assert 0 <= percent < 100
    page.click(f"{row} button.cancel")
    page.wait_for_selector(f'{row}[data-status="canceled"]', timeout=30_000)
    assert services.status(job_id)["status"] == "canceled"
    assert page.errors == []


def test_the_page_asks_for_the_api_key_and_then_works(services_factory, browser, tmp_path):
    services = services_factory(api_key="s3cret")
    services.client.headers["X-API-Key"] = "s3cret"
    services.start_api()
    services.start_worker()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{services.api_port}/")
    page.wait_for_selector("#key-box:not([hidden])")
    assert "API key" in page.inner_text("#key-message")
    page.fill("#key-input", "s3cret")
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#pipeline-select option[value=motion]", state="attached")
    assert page.evaluate("localStorage.getItem('videoJobsApiKey')") == "s3cret"

    clip = make_moving_box_mp4(tmp_path / "short.mp4", count=30)
    job_id = upload(page, clip, "quality", annotate="true")
    show_results(page, job_id)
    assert services.status(job_id)["pipeline_id"] == "quality"
    assert page.input_value("#series-select") == "brightness"
    # <video src> cannot send the key: the page fetches the video with it and plays a blob.
    page.eval_on_selector("#annotated-video", "v => { v.muted = true; return v.play(); }")
    page.wait_for_function(VIDEO_PLAYING, timeout=30_000)
    assert page.get_attribute("#annotated-video", "src").startswith("blob:")
