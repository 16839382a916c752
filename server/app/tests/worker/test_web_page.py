"""The web page in a real browser (headless Chromium via Playwright) against a real API and
worker: upload through the file input, watch the job complete, open its results."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tests.fixtures.videos import make_moving_box_mp4

pytestmark = pytest.mark.worker

CHROMIUM = Path(os.environ.get("VIDEO_JOBS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
THUMBNAIL_LOADED = """() => [...document.querySelectorAll('#thumbs img')]
    .some((img) => img.complete && img.naturalWidth > 0)"""


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


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#pipeline-select option[value=motion]", state="attached")
    return page


def upload_and_show_results(page, clip: Path, pipeline: str = "motion") -> str:
    """Upload through the form, wait for completion, open the results; returns the job id."""
    page.select_option("#pipeline-select", pipeline)
    page.set_input_files("#file-input", str(clip))
    page.click("#upload-button")
    page.wait_for_selector("#upload-message[data-job-id]")
    job_id = page.get_attribute("#upload-message", "data-job-id")
    row = f'#jobs tr[data-job-id="{job_id}"]'
    page.wait_for_selector(f'{row}[data-status="completed"]', timeout=90_000)
    page.click(f"{row} button")
    page.wait_for_selector("#plot polyline")
    page.wait_for_function(THUMBNAIL_LOADED)
    return job_id


def test_upload_complete_and_results_in_the_browser(
    services_factory, browser, clip_path: Path, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")

    job_id = upload_and_show_results(page, clip_path)

    assert page.eval_on_selector("#upload-progress", "bar => bar.value") == 1
    assert services.status(job_id)["status"] == "completed"
    assert page.input_value("#series-select") == "motion_ratio"
    points = page.get_attribute("#plot polyline", "points").split()
    assert len(points) == 30  # one point per frame
    thumbs = page.eval_on_selector_all("#thumbs img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(thumbs) == 6 and max(thumbs) == 320
    assert "30 frames" in page.inner_text("#results-summary")
    page.screenshot(path=str(tmp_path / "web-page.png"), full_page=True)
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

    clip = make_moving_box_mp4(tmp_path / "short.mp4", count=12)
    job_id = upload_and_show_results(page, clip, "quality")
    assert services.status(job_id)["pipeline_id"] == "quality"
    assert page.input_value("#series-select") == "brightness"
