"""What a submit accepts but says back: ignored form fields (with the near-miss named)
and a time range against the real clip's length."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _submit(client: TestClient, clip_path: Path, **kwargs):
    files = {"file": ("clip.mp4", clip_path.read_bytes(), "video/mp4")}
    return client.post("/video/submit", files=files, **kwargs)


def test_a_misspelt_field_is_accepted_and_named_with_the_field_it_resembles(client, clip_path):
    response = _submit(client, clip_path, data={"pipline_id": "faces", "tag": "t"})
    assert response.status_code == 200, response.text
    body = response.json()
    sentence = (
        "the form field 'pipline_id' is not one a submit reads: ignored "
        "(did you mean 'pipeline_id'?)"
    )
    assert body["pipeline_id"] == "motion" and body["warnings"] == [sentence]
    status = client.get(f"/video/status/{body['job_id']}").json()
    assert status["warnings"] == [sentence]


def test_an_unrelated_unknown_field_lists_the_known_ones(client, clip_path):
    response = _submit(client, clip_path, data={"note": "x", "tag": "t"})
    assert response.status_code == 200, response.text
    (warning,) = response.json()["warnings"]
    assert warning.startswith("the form field 'note' is not one a submit reads: ignored")
    for known in ("pipeline_id", "sample_fps", "callback_url", "file", "tag"):
        assert known in warning


def test_a_clean_submit_has_no_warnings(client, clip_path):
    response = _submit(client, clip_path, data={"pipeline_id": "quality", "sample_fps": "5"})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []


def test_a_long_unknown_name_is_echoed_only_in_part(client, clip_path):
    response = _submit(client, clip_path, data={"x" * 500: "1"})
    assert response.status_code == 200, response.text
    (warning,) = response.json()["warnings"]
    assert "x" * 64 in warning and "x" * 65 not in warning


def test_a_range_past_the_end_of_the_clip_is_400_naming_its_duration(client, clip_path):
    response = _submit(client, clip_path, data={"start_s": "100", "end_s": "200"})
    assert response.status_code == 400
    assert "1.200 s long" in response.json()["detail"]


def test_a_range_ending_past_the_end_is_clipped_and_says_so(client, clip_path):
    response = _submit(client, clip_path, data={"start_s": "0.4", "end_s": "200"})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == [
        "end_s=200 is past the end of the video (1.200 s); the range was clipped to end at 1.200 s"
    ]
    status = client.get(f"/video/status/{response.json()['job_id']}").json()
    assert status["frames_total"] == 20  # 0.4 s .. 1.2 s at 25 fps
