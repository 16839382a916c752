"""GET /video/search over the app's own index: shape, paging, validation, key, purge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.domain.model import Job, JobStatus
from app.domain.search import IndexedJob, SearchMatch
from app.settings import Settings
from app.tests.helpers import app_state

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def add_indexed(client: TestClient, minute: int, *, tag: str | None = None) -> str:
    """A completed job with a dog track and an "EXIT" text, indexed as the worker does."""
    job_id = uuid.uuid4()
    created = T0 + timedelta(minutes=minute)
    app_state(client).jobs.add(
        Job(
            job_id=job_id,
            pipeline_id="objects",
            input_path=f"video_jobs/{job_id}.mp4",
            status=JobStatus.COMPLETED,
            created_at=created,
            updated_at=created,
            tag=tag,
            filename=f"clip-{minute}.mp4",
        )
    )
    app_state(client).search.put(
        IndexedJob(
            job_id, created, f"clip-{minute}.mp4", tag, {"dog": 2},
            (SearchMatch("label", "dog", 500, 2500, 3), SearchMatch("text", "Fire EXIT", 0, 900)),
        )
    )  # fmt: skip
    return str(job_id)


def test_a_label_search_answers_the_contract_shape(client):
    older, newer = add_indexed(client, 1, tag="street"), add_indexed(client, 2)
    response = client.get("/video/search", params={"label": "dog"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2
    assert [item["job_id"] for item in body["items"]] == [newer, older]
    assert body["items"][1] == {
        "job_id": older,
        "filename": "clip-1.mp4",
        "tag": "street",
        "matches": [
            {"kind": "label", "value": "dog", "start_ms": 500, "end_ms": 2500, "track_id": 3}
        ],
    }


def test_text_tag_and_min_individuals_filter_and_page(client):
    ids = [add_indexed(client, minute, tag="t") for minute in range(5)][::-1]
    page = client.get("/video/search", params={"text": "exit", "limit": 2, "offset": 2}).json()
    assert page["total"] == 5
    assert [item["job_id"] for item in page["items"]] == ids[2:4]
    assert page["items"][0]["matches"] == [
        {"kind": "text", "value": "Fire EXIT", "start_ms": 0, "end_ms": 900, "track_id": None}
    ]
    assert client.get("/video/search", params={"tag": "t"}).json()["total"] == 5
    assert client.get("/video/search", params={"tag": "other"}).json() == {"total": 0, "items": []}
    assert client.get("/video/search", params={"min_individuals": 3}).json()["total"] == 0
    both = {"label": "dog", "min_individuals": 2}
    assert client.get("/video/search", params=both).json()["total"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "label"),
        ({"label": "  "}, "label"),
        ({"label": "dog", "limit": 0}, "limit"),
        ({"label": "dog", "limit": 101}, "limit"),
        ({"label": "dog", "offset": -1}, "offset"),
        ({"min_individuals": 0}, "min_individuals"),
        ({"text": "x" * 201}, "text"),
        ({"label": "dog", "lable": "cat"}, "lable"),
        ({"text": "ex\x00it"}, "text"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client, params, field):
    response = client.get("/video/search", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"]
    assert [error["loc"] for error in body["errors"]] == [["query", field]]


def test_search_needs_the_api_key_when_one_is_set(settings: Settings):
    settings.api_key = "s3cret"
    with TestClient(create_app(settings)) as client:
        assert client.get("/video/search", params={"label": "dog"}).status_code == 401
        answer = client.get(
            "/video/search", params={"label": "dog"}, headers={"X-API-Key": "s3cret"}
        )
        assert answer.status_code == 200


def test_a_purged_job_leaves_the_index(client):
    kept, purged = add_indexed(client, 1), add_indexed(client, 2)
    assert client.delete(f"/video/jobs/{purged}", params={"purge": "true"}).status_code == 204
    body = client.get("/video/search", params={"label": "dog"}).json()
    assert [item["job_id"] for item in body["items"]] == [kept]


def test_the_route_is_in_the_openapi_schema_with_its_response(client):
    schema = client.get("/openapi.json").json()
    answer = schema["paths"]["/video/search"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SearchResponse"
    }
