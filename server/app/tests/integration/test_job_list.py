"""GET /video/jobs: newest first, filtered by status, paged, behind the API key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.domain.model import Job, JobStatus
from app.settings import Settings
from app.tests.helpers import app_state

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def add_jobs(
    client: TestClient, statuses: list[JobStatus], tags: list[str | None] | None = None
) -> list[str]:
    """Rows created one minute apart, oldest first; returns their ids in that order."""
    ids = []
    tags = tags or [None] * len(statuses)
    for minute, (status, tag) in enumerate(zip(statuses, tags, strict=True)):
        job_id = uuid.uuid4()
        created = T0 + timedelta(minutes=minute)
        app_state(client).jobs.add(
            Job(
                job_id=job_id,
                pipeline_id="motion",
                input_path=f"video_jobs/{job_id}.mp4",
                status=status,
                created_at=created,
                updated_at=created,
                error_message="boom" if status is JobStatus.FAILED else None,
                tag=tag,
                filename=f"clip-{minute}.mp4",
            )
        )
        ids.append(str(job_id))
    return ids


def listed(client: TestClient, **params) -> list[str]:
    response = client.get("/video/jobs", params=params)
    assert response.status_code == 200, response.text
    return [job["job_id"] for job in response.json()["jobs"]]


def test_jobs_are_listed_newest_first_in_the_status_shape(client):
    ids = add_jobs(client, [JobStatus.PENDING, JobStatus.FAILED, JobStatus.COMPLETED])
    body = client.get("/video/jobs").json()
    assert (body["limit"], body["offset"]) == (50, 0)
    assert [job["job_id"] for job in body["jobs"]] == ids[::-1]
    failed = body["jobs"][1]
    status = client.get(f"/video/status/{ids[1]}").json()
    assert failed == status
    assert failed["status"] == "failed" and failed["error_message"] == "boom"
    assert failed["created_at"] == "2026-01-01T00:01:00+00:00"


def test_status_filter_keeps_only_that_status(client):
    ids = add_jobs(client, [JobStatus.PENDING, JobStatus.COMPLETED, JobStatus.PENDING])
    assert listed(client, status="pending") == [ids[2], ids[0]]
    assert listed(client, status="completed") == [ids[1]]
    assert listed(client, status="running") == []


def test_limit_and_offset_page_through_the_jobs(client):
    ids = add_jobs(client, [JobStatus.PENDING] * 7)[::-1]
    pages = [listed(client, limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert pages == [ids[0:3], ids[3:6], ids[6:7], []]
    body = client.get("/video/jobs", params={"limit": 3, "offset": 6}).json()
    assert (body["limit"], body["offset"], body["total"]) == (3, 6, 7)
    assert len(listed(client, limit=500)) == 7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": "PENDING"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**63}, "offset"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, params, field):
    response = client.get("/video/jobs", params=params)
    assert response.status_code == 422
    body = response.json()
    errors = body.get("errors") or body["detail"]  # FastAPI's list, wherever it is kept
    assert [error["loc"] for error in errors] == [["query", field]]


def test_listing_needs_the_api_key_when_one_is_set(settings: Settings):
    settings.api_key = "s3cret"
    with TestClient(create_app(settings)) as client:
        ids = add_jobs(client, [JobStatus.PENDING])
        for path in ("/video/jobs", "/v1/video/jobs"):
            assert client.get(path).status_code == 401
            assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
            response = client.get(path, headers={"X-API-Key": "s3cret"})
            assert response.status_code == 200
            assert [job["job_id"] for job in response.json()["jobs"]] == ids


def test_listing_is_in_the_openapi_schema_with_its_response_model(client):
    operation = client.get("/openapi.json").json()["paths"]["/video/jobs"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "status",
        "tag",
        "limit",
        "offset",
        "include_segments",
    }
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/JobListResponse")


def test_tag_filter_matches_exactly_and_combines_with_status_and_paging(client):
    tags = ["street", "Street", "street", "street cam", None, "street"]
    statuses = [JobStatus.PENDING, JobStatus.PENDING, JobStatus.FAILED] + [JobStatus.PENDING] * 3
    ids = add_jobs(client, statuses, tags)
    street = [ids[5], ids[2], ids[0]]
    assert listed(client, tag="street") == street
    assert listed(client, tag="  street ") == street  # tags are stored stripped
    assert listed(client, tag="Street") == [ids[1]]
    assert listed(client, tag="stree") == []
    assert listed(client, tag="street", status="failed") == [ids[2]]
    assert listed(client, tag="") == ids[::-1]  # an empty search is no filter
    body = client.get("/video/jobs", params={"tag": "street", "limit": 2, "offset": 2}).json()
    assert [job["job_id"] for job in body["jobs"]] == [ids[0]]
    assert body["total"] == 3
    assert body["jobs"][0]["tag"] == "street" and body["jobs"][0]["filename"] == "clip-0.mp4"
    assert client.get("/video/jobs", params={"tag": "x" * 257}).status_code == 422
