"""The page's upload form checks the pipeline with the server before it sends the file
(headless Chromium, real API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.tests.fixtures.videos import make_moving_box_mp4
from app.tests.worker.test_web_page import browser, open_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.worker

ADD_STALE_OPTION = """() => { const select = document.querySelector('#pipeline-select');
    select.add(new Option('retired', 'retired')); select.value = 'retired'; }"""


def test_a_pipeline_the_server_no_longer_lists_is_refused_before_the_upload(
    services_factory,
    browser,  # noqa: F811
    tmp_path: Path,
):
    services = services_factory()
    services.start_api()
    page = open_page(browser, f"http://127.0.0.1:{services.api_port}/")
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    page.evaluate(ADD_STALE_OPTION)  # the page's list went stale: the server changed
    page.set_input_files("#file-input", str(make_moving_box_mp4(tmp_path / "clip.mp4")))
    page.click("#upload-button")
    page.wait_for_selector("#upload-message.error-text")
    message = page.text_content("#upload-message")
    assert "unknown pipeline 'retired'; valid ids are: " in message
    assert "nothing was uploaded" in message and uploads == []
    assert services.client.get("/video/jobs").json()["jobs"] == []
    assert page.errors == []
