"""One colour per track everywhere: the page's timeline reads the annotator's palette."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.adapters.exports.annotator import PALETTE, colour
from app.api.main import create_app
from app.api.routes.web import web_dir
from app.domain.detections import Detection
from app.settings import Settings

pytestmark = pytest.mark.unit


def test_the_page_gets_the_annotators_colours_and_colours_lanes_by_track(tmp_path):
    with TestClient(create_app(Settings(_env_file=None, data_dir=tmp_path))) as client:
        script = client.get("/web/palette.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    track_7 = Detection("person", [0, 0, 4, 4], track_id=7)
    b, g, r = colour(track_7)
    hexes = script.text.split("[", 1)[1].split("]", 1)[0].replace('"', "").split(", ")
    assert len(hexes) == len(PALETTE)
    assert hexes[7 % len(hexes)] == f"#{r:02x}{g:02x}{b:02x}"
    timeline = (web_dir() / "timeline.js").read_text()
    assert "TRACK_COLOURS[trackId % TRACK_COLOURS.length]" in timeline
    page = (web_dir() / "index.html").read_text()
    assert page.index("/web/palette.js") < page.index("/web/timeline.js")
