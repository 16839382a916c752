"""The page's "Search all jobs" box in a real browser (headless Chromium) against a real
API and worker: find a completed job by label and by text-free tag, page, and open the
job at a match's time from its link."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.tests.fixtures.videos import make_moving_box_mp4, write_mp4
from app.tests.integration.test_tracks_exports import two_shot_frames
from app.tests.worker.test_search_live import submit
from app.tests.worker.test_web_page import browser, open_page, screenshot

pytestmark = pytest.mark.worker
__all__ = ["browser"]  # the fixture, shared with the page tests


def test_the_search_box_finds_jobs_and_opens_one_at_a_match(
    services_factory, browser, tmp_path: Path
):
    services = services_factory()
    services.start_api()
    services.start_worker()
    faces = write_mp4(tmp_path / "astronaut walk.mp4", two_shot_frames(), 25.0)
    box = make_moving_box_mp4(tmp_path / "box.mp4", count=10)
    ids = [submit(services, faces, "faces", "garden")]
    ids += [submit(services, box, "quality", "garden") for _ in range(11)]
    for job_id in ids:
        assert services.wait_for(job_id, timeout=180)["status"] == "completed"
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")

    page.fill("#find-tag", "garden")
    page.click("#find-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#find-results li').length === 10")
    assert page.inner_text("#find-info") == "1\u201310 of 12"
    page.click("#find-next")
    page.wait_for_function("() => document.querySelectorAll('#find-results li').length === 2")
    assert page.get_attribute("#find-results li:last-child", "data-job-id") == ids[0]

    page.fill("#find-tag", "")
    page.fill("#find-label", "face")
    page.click("#find-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#find-results li').length === 1")
    assert page.get_attribute("#find-results li", "data-job-id") == ids[0]
    assert page.is_hidden("#find-pager")
    link = page.locator("#find-results a.match").first
    assert link.inner_text().startswith("face #")
    href = link.get_attribute("href")
    assert href.startswith(f"#job={ids[0]}&t=")
    shot = screenshot(page, tmp_path, "web-search.png")
    assert shot.stat().st_size > 10_000

    link.click()
    page.wait_for_selector("#timeline rect.track")
    page.wait_for_selector("#frame-view figure img")  # the frame at the match's time
    assert ids[0] in page.get_attribute("#results-title", "title")

    page.fill("#find-label", "no-such-label")
    page.click("#find-form button[type=submit]")
    page.wait_for_selector("#find-message:text('No completed job matches.')")
    page.fill("#find-label", "")
    page.click("#find-form button[type=submit]")
    assert "Give a label" in page.inner_text("#find-message")
    assert page.errors == []
