"""The docs pages name only this server's own assets, and the server has them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings

pytestmark = pytest.mark.integration
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_their_assets_from_this_server(settings: Settings, page: str) -> None:
    with TestClient(create_app(settings)) as client:
        html = client.get(page)
        assert html.status_code == 200
        assets = [url for url in ASSET.findall(html.text) if not url.startswith("data:")]
        assert assets and all(url.startswith("/docs-assets/") for url in assets), assets
        assert "fonts.googleapis" not in html.text
        for url in assets:
            response = client.get(url)
            assert response.status_code == 200 and len(response.content) > 1000, url
        assert "/openapi.json" in html.text
