"""The HTTP contract, through a real app: the lifespan migrates a temporary SQLite
database and serves the Manager queue on a free port; every status code the contract
names is produced here and checked together with what was (not) stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.api.middleware import MULTIPART_SLACK_BYTES
from app.settings import Settings
from app.testing import mp4_synth
from app.tests.helpers import app_state
from app.workers.worker import Worker

pytestmark = pytest.mark.integration
NOT_MP4 = b"GIF89a" + bytes(200)
KEY_HEADER = "X-API-Key"


@contextmanager
def running_app(settings: Settings, **overrides: object) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update=overrides))) as client:
        yield client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with running_app(settings) as client:
        yield client


@pytest.fixture(scope="module")
def clip(clip_path: Path) -> bytes:
    return clip_path.read_bytes()


def submit(client: TestClient, video: bytes, *, path: str = "/video/submit", **kwargs):
    return client.post(path, files={"file": ("clip.mp4", video, "video/mp4")}, **kwargs)


def stored(settings: Settings) -> list[str]:
    folder = settings.storage_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_nothing_accepted(client: TestClient, settings: Settings) -> None:
    assert stored(settings) == []
    assert app_state(client).queue.size() == 0
    assert sum(app_state(client).jobs.count_by_status().values()) == 0


def assert_utc_timestamp(value: str) -> None:
    assert value.endswith("+00:00")
    assert datetime.fromisoformat(value).utcoffset() == timedelta(0)


def run_queued_job(client: TestClient) -> None:
    """Run the next queued job in this process, with the app's own adapters."""
    state = app_state(client)
    worker = Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)
    assert worker.run_once(wait=30) is True


def test_submit_stores_the_file_and_enqueues_only_the_job_id(client, settings, clip) -> None:
    response = submit(client, clip)
    assert response.status_code == 200
    body = response.json()
    job_id = uuid.UUID(body["job_id"])
    assert job_id.version == 4
    assert body == {
        "job_id": str(job_id),
        "status": "pending",
        "pipeline_id": "motion",
        "warnings": [],  # an additive key: what the submit ignored or changed
    }
    assert (settings.data_dir / "video_jobs" / f"{job_id}.mp4").read_bytes() == clip
    assert app_state(client).queue.queued_ids() == {job_id}
    assert app_state(client).queue.shared.snapshot() == [str(job_id)]
    assert app_state(client).jobs.get(job_id).input_path == f"video_jobs/{job_id}.mp4"


@pytest.mark.parametrize(
    ("form", "query"),
    [
        ({"pipeline_id": "quality"}, None),
        ({}, {"pipeline_id": "quality"}),
        ({"pipeline_id": "quality"}, {"pipeline_id": "quality"}),
    ],
    ids=["form", "query", "both-agree"],
)
def test_the_pipeline_may_be_named_in_the_form_or_the_query(client, clip, form, query) -> None:
    response = submit(client, clip, data=form, params=query)
    assert response.status_code == 200
    assert response.json()["pipeline_id"] == "quality"


def test_a_form_and_query_pipeline_that_disagree_are_refused(client, settings, clip) -> None:
    response = submit(
        client, clip, data={"pipeline_id": "quality"}, params={"pipeline_id": "motion"}
    )
    assert response.status_code == 400
    assert "quality" in response.json()["detail"] and "motion" in response.json()["detail"]
    assert_nothing_accepted(client, settings)


def test_a_submit_naming_no_pipeline_uses_the_configured_default(settings, clip) -> None:
    with running_app(settings, default_pipeline="quality") as client:
        assert submit(client, clip).json()["pipeline_id"] == "quality"


@pytest.mark.parametrize(
    ("data", "words"), [(NOT_MP4, "MP4"), (b"", "empty")], ids=["not-mp4", "empty"]
)
def test_an_upload_that_is_not_an_mp4_is_refused(client, settings, data, words) -> None:
    response = submit(client, data)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert_nothing_accepted(client, settings)


def test_an_unknown_pipeline_is_refused_with_the_valid_ids(client, settings, clip) -> None:
    response = submit(client, clip, data={"pipeline_id": "no-such-pipeline"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    valid = [p["id"] for p in client.get("/video/pipelines").json()]
    assert {"motion", "quality"} <= set(valid)
    assert "no-such-pipeline" in detail and all(pid in detail for pid in valid)
    assert_nothing_accepted(client, settings)


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings, clip) -> None:
    with running_app(settings, max_upload_bytes=len(clip) // 2) as client:
        response = submit(client, clip)
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        assert_nothing_accepted(client, settings)


def multipart(data: bytes, boundary: str = "video-jobs-test") -> tuple[bytes, dict[str, str]]:
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def submit_undeclared_length(client: TestClient, data: bytes):
    """Send the body in chunks with no Content-Length, as a streaming client would."""
    body, headers = multipart(data)
    pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    return client.post("/video/submit", content=iter(pieces), headers=headers)


def test_a_file_over_the_limit_without_a_declared_length_is_refused(settings, clip) -> None:
    limit = 1000
    with running_app(settings, max_upload_bytes=limit) as client:
        request = client.build_request("POST", "/", content=iter([b"x"]))
        assert "content-length" not in request.headers  # the case under test
        over_by_one = submit_undeclared_length(client, clip[: limit + 1])
        assert over_by_one.status_code == 413
        assert f"larger than {limit} bytes" in over_by_one.json()["detail"]
        endless = submit_undeclared_length(client, clip + bytes(MULTIPART_SLACK_BYTES))
        assert endless.status_code == 413  # cut off while reading, not spooled whole
        assert "limit" in endless.json()["detail"]
        assert_nothing_accepted(client, settings)
        # Exactly at the limit, with a header that says what it holds (a clip cut at
        # 1000 bytes has no moov: its header cannot be read, a 400 of its own).
        header = mp4_synth.ftyp() + mp4_synth.box("moov", mp4_synth.mvhd(), mp4_synth.video_trak())
        at_limit = header + mp4_synth.box("mdat", bytes(limit - len(header) - 8))
        assert len(at_limit) == limit
        assert submit_undeclared_length(client, at_limit).status_code == 200
        assert len(stored(settings)) == 1


def test_a_file_within_the_limit_is_accepted(settings, clip) -> None:
    with running_app(settings, max_upload_bytes=len(clip) + 1024) as client:
        assert submit(client, clip).status_code == 200


@pytest.mark.parametrize("files", [None, {"video": ("clip.mp4", b"x", "video/mp4")}])
def test_a_submit_without_a_file_part_is_unprocessable(client, settings, files) -> None:
    response = client.post("/video/submit", data={"pipeline_id": "motion"}, files=files)
    assert response.status_code == 422
    assert_nothing_accepted(client, settings)


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_the_contract_video_routes_work_with_the_right_api_key(settings, clip, prefix) -> None:
    with running_app(settings, api_key="let-me-in") as client:
        good = {KEY_HEADER: "let-me-in"}
        response = submit(client, clip, path=f"{prefix}/video/submit", headers=good)
        assert response.status_code == 200
        job_id = response.json()["job_id"]
        assert client.get(f"{prefix}/video/status/{job_id}", headers=good).status_code == 200
        assert client.get(f"{prefix}/video/results/{job_id}", headers=good).status_code == 404
        assert client.get(f"{prefix}/video/pipelines", headers=good).status_code == 200
        assert client.get(f"{prefix}/health").status_code == 200  # never needs the key


def openapi_operations(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, operations in paths.items() for method in operations]


def test_every_video_route_refuses_a_missing_or_wrong_api_key(settings, clip) -> None:
    """Every documented /video operation, and its /v1 twin (a 401 there, not a 404,
    also proves the twin exists)."""
    with running_app(settings, api_key="let-me-in") as client:
        operations = [(m, p) for m, p in openapi_operations(client) if p.startswith("/video")]
        assert len(operations) >= 4
        for method, path in operations:
            for prefix in ("", "/v1"):
                url = prefix + path.replace("{job_id}", str(uuid.uuid4()))
                files = {"file": ("clip.mp4", clip, "video/mp4")} if method == "POST" else None
                for headers in ({}, {KEY_HEADER: "wrong"}, {KEY_HEADER: ""}):
                    response = client.request(method, url, headers=headers, files=files)
                    assert response.status_code == 401, (method, url, headers)
                    assert "X-API-Key" in response.json()["detail"]
        assert_nothing_accepted(client, settings)


def test_status_of_a_new_job_is_pending_with_utc_timestamps(client, clip) -> None:
    job_id = submit(client, clip).json()["job_id"]
    response = client.get(f"/video/status/{job_id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {  # later phases may add fields; none of these goes away
        "job_id",
        "status",
        "progress",
        "created_at",
        "updated_at",
        "pipeline_id",
        "error_message",
    }
    assert (body["job_id"], body["status"], body["progress"]) == (job_id, "pending", 0.0)
    assert (body["pipeline_id"], body["error_message"]) == ("motion", None)
    assert_utc_timestamp(body["created_at"])
    assert_utc_timestamp(body["updated_at"])


def test_status_of_an_unknown_job_is_404_and_of_a_malformed_id_422(client) -> None:
    response = client.get(f"/video/status/{uuid.uuid4()}")
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)
    assert client.get("/video/status/not-a-uuid").status_code == 422
    assert client.get("/video/results/not-a-uuid").status_code == 422


def test_results_of_an_unknown_or_unfinished_job_are_404(client, clip) -> None:
    assert client.get(f"/video/results/{uuid.uuid4()}").status_code == 404
    job_id = submit(client, clip).json()["job_id"]
    response = client.get(f"/video/results/{job_id}")
    assert response.status_code == 404
    assert "pending" in response.json()["detail"]


def decoded_frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_results_of_a_completed_job_hold_one_item_per_frame_in_order(
    client, settings, clip, clip_path
) -> None:
    job_id = submit(client, clip).json()["job_id"]
    run_queued_job(client)
    status = client.get(f"/video/status/{job_id}").json()
    assert (status["status"], status["progress"], status["error_message"]) == (
        "completed",
        1.0,
        None,
    )
    response = client.get(f"/video/results/{job_id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"job_id", "pipeline_id", "created_at", "updated_at", "video", "results"}
    assert (body["job_id"], body["pipeline_id"]) == (job_id, "motion")
    assert_utc_timestamp(body["created_at"])
    assert_utc_timestamp(body["updated_at"])
    frames = decoded_frame_count(clip_path)
    assert set(body["video"]) >= {"fps", "frame_count", "width", "height", "duration_s"}
    assert body["video"]["frame_count"] == frames == len(body["results"])
    assert (body["video"]["width"], body["video"]["height"]) == (320, 240)
    assert [item["frame_index"] for item in body["results"]] == list(range(frames))
    assert all("motion_ratio" in item["result"] for item in body["results"])
    document = (settings.storage_dir / f"{job_id}_results.json").read_text()
    stored = json.loads(document)
    assert set(stored) == {"job_id", "pipeline_id", "video", "warnings", "results"}
    assert stored["warnings"] == [] and stored["video"]["frames_declared"] == frames
    assert all(isinstance(item["timestamp_ms"], int) for item in body["results"])


def test_pipelines_lists_ids_and_descriptions(client) -> None:
    response = client.get("/video/pipelines")
    assert response.status_code == 200
    pipelines = response.json()
    assert {"motion", "quality"} <= {p["id"] for p in pipelines}
    assert all({"id", "description"} <= set(p) and p["description"] for p in pipelines)
    assert [p["id"] for p in pipelines if p["default"]] == ["motion"]


def test_pipelines_mark_the_configured_default(settings) -> None:
    with running_app(settings, default_pipeline="quality") as client:
        pipelines = client.get("/video/pipelines").json()
    assert [p["id"] for p in pipelines if p["default"]] == ["quality"]


def test_health_is_200_when_the_database_and_queue_answer(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert (response.json()["database"], response.json()["queue"]) == ("ok", "ok")


class UnreachableDatabase:
    def ping(self) -> None:
        raise ConnectionError("database is gone")


def test_health_is_503_naming_a_broken_database(client) -> None:
    jobs = app_state(client).jobs
    app_state(client).jobs = UnreachableDatabase()
    try:
        response = client.get("/health")
    finally:
        app_state(client).jobs = jobs
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["queue"]) == ("unhealthy", "ok")
    assert "database is gone" in body["database"]


def test_health_is_503_naming_a_stopped_queue(client) -> None:
    app_state(client).queue.close()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("unhealthy", "ok")
    assert body["queue"].startswith("error")


def test_every_route_also_answers_under_v1(client, clip) -> None:
    submitted = submit(client, clip, path="/v1/video/submit")
    assert submitted.status_code == 200
    job_id = submitted.json()["job_id"]
    assert (
        client.get(f"/v1/video/status/{job_id}").json()
        == client.get(f"/video/status/{job_id}").json()
    )
    assert client.get(f"/v1/video/results/{job_id}").status_code == 404
    run_queued_job(client)
    assert (
        client.get(f"/v1/video/results/{job_id}").json()
        == client.get(f"/video/results/{job_id}").json()
    )
    assert client.get("/v1/video/pipelines").json() == client.get("/video/pipelines").json()
    assert client.get("/v1/health").status_code == 200


def test_openapi_lists_the_unprefixed_routes_and_no_v1_ones(client) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/video/submit",
        "/video/status/{job_id}",
        "/video/results/{job_id}",
        "/video/pipelines",
        "/health",
    } <= paths
    assert not [path for path in paths if path.startswith("/v1")]
