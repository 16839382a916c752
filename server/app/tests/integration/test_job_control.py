"""Job control over HTTP: idempotent submit, cancel/delete, paged results, retention,
free-space floor and webhooks against a real local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.domain.control import purge_expired_files
from app.settings import Settings
from app.tests.fixtures.videos import make_moving_box_mp4
from app.tests.helpers import app_state
from app.workers.worker import Worker

pytestmark = pytest.mark.integration
SECRET = "test-webhook-secret"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings.webhook_secret = SECRET
    settings.webhook_allow_private = True  # the receivers below listen on loopback
    settings.webhook_retry_base_s = 0.05
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def run_one(client: TestClient) -> bool:
    state = app_state(client)
    worker = Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)
    return worker.run_once(wait=2)


def submit(client: TestClient, path: Path, *, key: str | None = None, **data) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    with open(path, "rb") as handle:
        response = client.post(
            "/video/submit",
            files={"file": ("c.mp4", handle, "video/mp4")},
            data=data,
            headers=headers,
        )
    return {"code": response.status_code, **response.json()}


def stored(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "video_jobs").iterdir())


# -- idempotent submit -------------------------------------------------------------
def test_same_key_same_file_same_pipeline_returns_the_first_job(client, clip_path, data_dir):
    first = submit(client, clip_path, key="k-1")
    again = submit(client, clip_path, key="k-1")
    assert first["code"] == again["code"] == 200
    assert again["job_id"] == first["job_id"]
    assert len(app_state(client).jobs.list_jobs()) == 1
    assert stored(data_dir) == [f"{first['job_id']}.mp4"]


def test_same_key_with_another_file_or_pipeline_is_409(client, clip_path, tmp_path, data_dir):
    first = submit(client, clip_path, key="k-2")
    other = make_moving_box_mp4(tmp_path / "other.mp4", count=12)
    assert submit(client, other, key="k-2")["code"] == 409
    conflict = submit(client, clip_path, key="k-2", pipeline_id="quality")
    assert conflict["code"] == 409 and first["job_id"] in conflict["detail"]
    assert len(app_state(client).jobs.list_jobs()) == 1
    assert stored(data_dir) == [f"{first['job_id']}.mp4"]


@pytest.mark.parametrize(
    "changed",
    [
        {"sample_fps": "2"},
        {"labels": "motion"},
        {"tag": "other"},
        {"min_confidence": "0.9"},
        {"callback_url": "http://127.0.0.1:9/hook"},
    ],
)
def test_same_key_with_other_fields_is_409_naming_the_first_job(client, clip_path, changed):
    first = submit(client, clip_path, key="k-3", sample_fps="1", tag="t")
    assert (
        submit(client, clip_path, key="k-3", sample_fps="1", tag="t")["job_id"] == (first["job_id"])
    )
    conflict = submit(client, clip_path, key="k-3", **{"sample_fps": "1", "tag": "t", **changed})
    assert conflict["code"] == 409, conflict
    assert first["job_id"] in conflict["detail"]
    assert next(iter(changed)) in conflict["detail"] or "options" in conflict["detail"]
    assert len(app_state(client).jobs.list_jobs()) == 1


def test_without_a_key_every_submit_is_a_new_job(client, clip_path):
    assert submit(client, clip_path)["job_id"] != submit(client, clip_path)["job_id"]


# -- cancel and delete -------------------------------------------------------------
def test_delete_pending_job_cancels_it_and_no_worker_runs_it(client, clip_path):
    job_id = submit(client, clip_path)["job_id"]
    response = client.delete(f"/video/jobs/{job_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled" and response.json()["progress"] == 1.0
    assert not run_one(client)  # the id is still queued, but the claim refuses it
    results = client.get(f"/video/results/{job_id}")
    assert results.status_code == 404 and "canceled" in results.json()["detail"]


def test_delete_of_a_finished_job_is_409_and_keeps_everything(client, clip_path, data_dir):
    """A cancel that arrives after the job completed (the page refreshes every second)
    must not destroy its results."""
    job_id = submit(client, clip_path)["job_id"]
    assert run_one(client)
    files = stored(data_dir)
    late = client.delete(f"/video/jobs/{job_id}")
    assert late.status_code == 409
    assert "already completed" in late.json()["detail"] and "purge=true" in late.json()["detail"]
    assert stored(data_dir) == files
    assert client.get(f"/video/results/{job_id}").status_code == 200
    assert client.get(f"/video/status/{job_id}").json()["files_deleted_at"] is None


def test_delete_of_a_canceled_job_is_409_too(client, clip_path):
    job_id = submit(client, clip_path)["job_id"]
    assert client.delete(f"/video/jobs/{job_id}").status_code == 200
    again = client.delete(f"/video/jobs/{job_id}")
    assert again.status_code == 409 and "already canceled" in again.json()["detail"]


def test_purge_deletes_a_finished_jobs_files_and_results_answer_410(client, clip_path, data_dir):
    job_id = submit(client, clip_path)["job_id"]
    assert run_one(client)
    assert client.get(f"/video/results/{job_id}").status_code == 200
    assert client.delete(f"/video/jobs/{job_id}", params={"purge": "true"}).status_code == 204
    assert stored(data_dir) == []
    status = client.get(f"/video/status/{job_id}").json()
    assert status["status"] == "completed" and status["files_deleted_at"] is not None
    gone = client.get(f"/video/results/{job_id}")
    assert gone.status_code == 410 and "deleted" in gone.json()["detail"]
    again = client.delete(f"/video/jobs/{job_id}", params={"purge": "true"})
    assert again.status_code == 204  # idempotent


def test_delete_unknown_job_is_404(client):
    assert client.delete(f"/video/jobs/{uuid.uuid4()}").status_code == 404


# -- frame progress ----------------------------------------------------------------
def test_completed_status_reports_exact_frame_progress(client, clip_path):
    job_id = submit(client, clip_path)["job_id"]
    pending = client.get(f"/video/status/{job_id}").json()
    assert pending["frames_done"] == 0 and pending["eta_s"] is None
    assert run_one(client)
    done = client.get(f"/video/status/{job_id}").json()
    assert done["progress"] == 1.0
    assert done["frames_done"] == done["frames_total"] == 30
    assert done["frames_total_is_estimate"] is False
    assert done["fps"] > 0 and done["eta_s"] is None


# -- paged results -----------------------------------------------------------------
def test_results_pages_walk_the_whole_document(client, clip_path):
    job_id = submit(client, clip_path)["job_id"]
    assert run_one(client)
    whole = client.get(f"/video/results/{job_id}").json()
    assert "next_offset" not in whole and len(whole["results"]) == 30
    collected, offset = [], 0
    while offset is not None:
        page = client.get(f"/video/results/{job_id}", params={"offset": offset, "limit": 7}).json()
        assert page["video"] == whole["video"] and len(page["results"]) <= 7
        collected += page["results"]
        offset = page["next_offset"]
    assert collected == whole["results"]


def test_results_filtered_by_frame_range_label_and_confidence(client, clip_path):
    job_id = submit(client, clip_path)["job_id"]
    assert run_one(client)
    ranged = client.get(f"/video/results/{job_id}", params={"from_frame": 5, "to_frame": 9}).json()
    assert [r["frame_index"] for r in ranged["results"]] == [5, 6, 7, 8, 9]
    assert ranged["next_offset"] is None
    moving = client.get(
        f"/video/results/{job_id}", params={"label": "motion", "min_confidence": 0.5}
    ).json()
    assert moving["results"], "the moving box must be found"
    for item in moving["results"]:
        detections = item["result"]["detections"]
        assert detections and all(
            d["label"] == "motion" and d["confidence"] >= 0.5 for d in detections
        )
    nothing = client.get(f"/video/results/{job_id}", params={"label": "face"}).json()
    assert nothing["results"] == [] and nothing["next_offset"] is None


# -- retention and disk ------------------------------------------------------------
def test_retention_removes_files_of_old_finished_jobs(client, clip_path, data_dir):
    job_id = submit(client, clip_path)["job_id"]
    assert run_one(client)
    state = app_state(client)
    assert purge_expired_files(state.jobs, state.storage, older_than=timedelta(hours=1)) == 0
    assert purge_expired_files(state.jobs, state.storage, older_than=timedelta(0)) == 1
    assert stored(data_dir) == []
    assert client.get(f"/video/results/{job_id}").status_code == 410


def test_submit_below_the_free_space_floor_is_507_before_writing(client, clip_path, data_dir):
    app_state(client).settings.min_free_bytes = 1 << 62
    response = submit(client, clip_path)
    assert response["code"] == 507 and "disk" in response["detail"]
    assert stored(data_dir) == []


# -- webhooks ----------------------------------------------------------------------
class Receiver:
    """A real HTTP server on a free port that fails `failures` times, then accepts."""

    def __init__(self, failures: int = 0, delay_s: float = 0.0) -> None:
        self.failures = failures
        self.delay_s = delay_s
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                time.sleep(receiver.delay_s)
                code = 500 if len(receiver.requests) <= receiver.failures else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for item in made:
        item.close()


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_webhook_retries_until_the_receiver_accepts_and_is_signed(client, clip_path, receiver):
    hook = receiver(failures=2)
    job_id = submit(client, clip_path, callback_url=hook.url)["job_id"]
    assert run_one(client)
    jobs = app_state(client).jobs
    wait_until(
        lambda: [d.state.value for d in jobs.webhook_deliveries(uuid.UUID(job_id))] == ["delivered"]
    )
    delivery = jobs.webhook_deliveries(uuid.UUID(job_id))[0]
    assert delivery.attempts == 3 and delivery.last_status_code == 204
    assert len(hook.requests) == 3
    headers, body = hook.requests[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
    event = json.loads(body)
    assert event["event"] == "job.completed" and event["job_id"] == job_id


def test_webhook_gives_up_after_the_bounded_attempts(client, clip_path, receiver):
    app_state(client).settings.webhook_max_attempts = 3
    hook = receiver(failures=100)
    job_id = submit(client, clip_path, callback_url=hook.url)["job_id"]
    client.delete(f"/video/jobs/{job_id}")  # a canceled job notifies too
    jobs = app_state(client).jobs
    wait_until(lambda: jobs.webhook_deliveries(uuid.UUID(job_id))[0].state.value == "failed")
    delivery = jobs.webhook_deliveries(uuid.UUID(job_id))[0]
    assert delivery.attempts == 3 and "HTTP 500" in delivery.last_error
    assert json.loads(hook.requests[0][1])["event"] == "job.canceled"


def test_slow_receiver_never_holds_up_the_worker(client, clip_path, receiver):
    hook = receiver(delay_s=3.0)
    slow = submit(client, clip_path, callback_url=hook.url)["job_id"]
    assert run_one(client)
    wait_until(lambda: len(hook.requests) == 1)  # the dispatcher is now stuck in the receiver
    nxt = submit(client, clip_path)["job_id"]
    assert run_one(client)
    assert client.get(f"/video/status/{nxt}").json()["status"] == "completed"
    assert client.get(f"/video/status/{slow}").json()["status"] == "completed"


@pytest.mark.parametrize("url", ["ftp://example.test/x", "file:///etc/passwd", "not a url"])
def test_callback_url_must_be_http(client, clip_path, url, data_dir):
    response = submit(client, clip_path, callback_url=url)
    assert response["code"] == 400 and "http(s)" in response["detail"]
    assert stored(data_dir) == []


def test_callback_url_needs_a_configured_secret(client, clip_path):
    app_state(client).settings.webhook_secret = None
    response = submit(client, clip_path, callback_url="http://127.0.0.1:9/hook")
    assert response["code"] == 400 and "VIDEO_JOBS_WEBHOOK_SECRET" in response["detail"]


def test_uploads_without_a_job_row_are_removed_but_jobs_keep_theirs(client, clip_path, data_dir):
    from app.domain.control import remove_orphan_uploads

    job_id = submit(client, clip_path)["job_id"]
    state = app_state(client)
    orphan = f"{uuid.uuid4()}.mp4"  # an API killed between storing the file and the row
    state.storage.save_file(orphan, [b"\x00\x00\x00\x18ftypisom"])
    foreign = data_dir / "video_jobs" / "notes.mp4"
    foreign.write_bytes(b"not ours")
    assert remove_orphan_uploads(state.jobs, state.storage, older_than=timedelta(hours=1)) == 0
    assert remove_orphan_uploads(state.jobs, state.storage, older_than=timedelta(0)) == 1
    assert sorted(stored(data_dir)) == sorted([f"{job_id}.mp4", "notes.mp4"])
