"""The `zones` option through the real app: stored and echoed as sent, refused with a
400 naming the zone or line before anything is kept, limits from settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from app.tests.helpers import app_state

pytestmark = pytest.mark.integration
# The clip is 320x240.
ZONES = {
    "lines": [{"name": "door", "points": [[0, 120], [320, 120]]}],
    "zones": [{"name": "desk", "polygon": [[10, 10], [100, 10], [100, 100]]}],
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def submit(client: TestClient, clip_path: Path, zones, **kwargs):
    data = {"zones": zones if isinstance(zones, str) else json.dumps(zones)}
    return client.post(
        "/video/submit",
        files={"file": ("clip.mp4", clip_path.read_bytes(), "video/mp4")},
        data=data,
        **kwargs,
    )


def test_zones_are_stored_and_echoed_without_warnings(client, clip_path):
    response = submit(client, clip_path, ZONES)
    assert response.status_code == 200, response.text
    assert response.json().get("warnings", []) == []
    status = client.get(f"/video/status/{response.json()['job_id']}").json()
    assert status["options"]["zones"] == {**ZONES, "units": "px"}
    assert status["warnings"] == []


@pytest.mark.parametrize(
    ("zones", "says"),
    [
        (
            {"lines": [{"name": "far", "points": [[0, 10], [400, 10]]}]},
            "line 'far': point [400, 10]",
        ),
        ({"zones": [{"name": "z", "polygon": [[0, 0], [9, 9], [9, 0], [0, 9]]}]}, "zone 'z'"),
        ({"lines": [{"name": "a", "points": [[0, 0], [1, 1]]}], "colour": "red"}, "unknown key"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_zones_are_a_400_and_nothing_is_kept(client, settings, clip_path, zones, says):
    response = submit(client, clip_path, zones)
    assert response.status_code == 400 and says in response.json()["detail"], response.text
    assert app_state(client).jobs.count_jobs() == 0
    folder = settings.storage_dir
    assert not folder.exists() or not [p for p in folder.iterdir() if p.suffix == ".mp4"]


def test_limits_are_settings(tmp_path, clip_path):
    settings = Settings(data_dir=tmp_path / "data", zones_max_lines=1)
    two = {"lines": [ZONES["lines"][0], {**ZONES["lines"][0], "name": "second"}]}
    with TestClient(create_app(settings)) as client:
        response = submit(client, clip_path, two)
    assert response.status_code == 400 and "at most 1" in response.json()["detail"]
