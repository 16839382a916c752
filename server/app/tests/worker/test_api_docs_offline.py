"""`/docs` (Swagger UI) and `/redoc` render in a real browser that can reach nothing but
this server: their scripts and styles come from a package, not from a CDN."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from app.tests.worker.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.worker


@pytest.fixture
def offline_page(services_factory) -> Iterator:
    """A page on a running API whose requests to any other host are refused, as on a
    machine without internet; `page.foreign` lists (resource type, url) of what it
    tried to fetch elsewhere."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set VIDEO_JOBS_TEST_CHROMIUM to another path)")
    sync_api = pytest.importorskip("playwright.sync_api")
    services = services_factory()
    services.start_api()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.foreign = []
            page.errors = []
            page.on("pageerror", lambda error: page.errors.append(str(error)))

            def only_this_server(route) -> None:
                if urlparse(route.request.url).port == services.api_port:
                    route.continue_()
                else:
                    page.foreign.append((route.request.resource_type, route.request.url))
                    route.abort()

            page.route("**/*", only_this_server)
            page.set_default_timeout(30_000)
            page.base = f"http://127.0.0.1:{services.api_port}"
            yield page
        finally:
            browser.close()


def test_swagger_ui_renders_every_route_without_internet(offline_page) -> None:
    page = offline_page
    page.goto(f"{page.base}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Video job service" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path[data-path='/video/submit']")
    assert page.foreign == [] and page.errors == []


def test_redoc_renders_without_internet(offline_page) -> None:
    page = offline_page
    page.goto(f"{page.base}/redoc")
    page.wait_for_selector("h1:has-text('Video job service')")
    page.get_by_text("/video/submit").first.wait_for()
    # ReDoc's "API docs by Redocly" footer asks its CDN for a logo; nothing else.
    assert [kind for kind, _ in page.foreign] in ([], ["image"]), page.foreign
    assert page.errors == []
