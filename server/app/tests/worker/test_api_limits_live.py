"""Attacks on the read side, against real processes (API as `make run` starts it, a real
worker, a temporary DATA_DIR): frame images, unpaged and filtered results, webhooks to
internal addresses and to a dead receiver, /health on a locked database and a full disk,
and slow clients. Each test reproduces an attack and asserts what the API does: it
answers, with which status, in which order, within bounds generous enough for a loaded
2-core machine; memory is asserted in MB. How fast it answers is a benchmark figure
(make bench, figure 8: tools/benchkit/limits.py), not a test."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.tests.fixtures.videos import make_moving_box_mp4
from app.tests.worker.limits_support import (
    ANSWER_BOUND_S,
    DeadReceiver,
    HealthProbe,
    PeakSampler,
    Receiver,
    write_big_results,
)

pytestmark = pytest.mark.worker
SECRET = "live-webhook-secret"


@pytest.fixture(scope="module")
def hd_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hd")
    return make_moving_box_mp4(folder / "hd.mp4", count=120, width=1280, height=720, box=120)


def completed_job(services, clip: Path, pipeline: str = "quality") -> str:
    job_id = services.submit(clip, pipeline)
    services.start_worker("--once")
    assert services.wait_for(job_id)["status"] == "completed"
    return job_id


def test_frame_requests_are_bounded_and_never_hold_up_health(services_factory, hd_clip):
    services = services_factory(frame_workers=1, frame_queue=2)
    services.start_api_as_make_run()
    job_id = completed_job(services, hd_clip)
    pending = services.submit(hd_clip)  # no worker left: it stays pending
    url = f"/video/jobs/{job_id}/frames/{{n}}.jpg?width=1280"

    def fetch(n: int) -> httpx.Response:
        with httpx.Client(base_url=str(services.client.base_url), timeout=60) as client:
            return client.get(url.format(n=n))

    with HealthProbe(services) as probe, ThreadPoolExecutor(40) as pool:
        responses = list(pool.map(fetch, [100 + i % 19 for i in range(40)]))
        assert services.client.get(f"/video/status/{job_id}").status_code == 200
    codes = [r.status_code for r in responses]
    busy = [r for r in responses if r.status_code == 503]
    assert set(codes) <= {200, 503}, codes
    assert codes.count(200) >= 1
    assert busy, "40 requests at once on a pool of 1 + 2 waiting were never refused"
    assert all(r.headers.get("Retry-After") == "1" for r in busy)
    assert "try again" in busy[0].json()["detail"]
    probe.assert_answered()
    assert services.client.get(f"/video/jobs/{pending}/frames/0.jpg").status_code == 404


def test_unpaged_results_of_41_mb_stream_with_flat_api_memory(services_factory, clip_path):
    services = services_factory()
    services.start_api_as_make_run()
    job_id = completed_job(services, clip_path, "motion")
    video = services.results(job_id)["video"]
    storage = services.data_dir / "video_jobs"
    frames = 270_000  # ~41 MB: a long job's results, one box per frame
    size = write_big_results(storage, job_id, video, frames)
    assert size > 40_000_000  # the ~41 MB document
    api_pid = services.api.pid

    def download(_: int) -> bytes:
        with (
            httpx.Client(base_url=str(services.client.base_url), timeout=120) as client,
            client.stream("GET", f"/video/results/{job_id}") as response,
        ):
            assert response.status_code == 200
            return b"".join(response.iter_bytes())

    with (
        PeakSampler(api_pid) as memory,
        HealthProbe(services) as probe,
        ThreadPoolExecutor(4) as pool,
    ):
        bodies = list(pool.map(download, range(4)))
    assert memory.growth_mb < 64, f"API RSS grew {memory.growth_mb:.0f} MB"
    probe.assert_answered()
    document = json.loads(bodies[0])
    assert len(document["results"]) == frames
    assert document["results"][-1]["frame_index"] == frames - 1
    assert document["created_at"].endswith("+00:00") and document["warnings"] == []
    assert document["video"] == video and "options" in document
    assert all(body == bodies[0] for body in bodies[1:])

    # A filter that matches nothing examines a bounded number of frames and says where
    # to continue (it used to read every line of the file).
    page = services.client.get(f"/video/results/{job_id}", params={"label": "x", "limit": 1})
    assert page.status_code == 200
    assert page.json()["results"] == [] and page.json()["next_offset"] == 10_000


def test_a_missing_results_file_is_a_json_410(services_factory, clip_path):
    services = services_factory()
    services.start_api_as_make_run()
    job_id = completed_job(services, clip_path)
    for suffix in ("_results.json", "_results.jsonl", "_results.idx"):
        (services.data_dir / "video_jobs" / f"{job_id}{suffix}").unlink()
    for params in ({}, {"limit": 5}):
        response = services.client.get(f"/video/results/{job_id}", params=params)
        assert response.status_code == 410, response.text
        assert "missing from storage" in response.json()["detail"]


def test_webhooks_to_internal_addresses_are_refused_at_submit(services_factory, clip_path):
    services = services_factory(webhook_secret=SECRET)
    services.start_api_as_make_run()
    api = f"127.0.0.1:{services.api_port}"
    targets = [
        f"http://{api}/video/submit",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        "http://127.1/hook",
        "http://0x7f000001/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://192.168.1.1/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
        "https://hooks.example/" + "a" * 3000,
    ]
    for url in targets:
        with clip_path.open("rb") as handle:
            response = services.client.post(
                "/video/submit",
                files={"file": ("clip.mp4", handle, "video/mp4")},
                data={"callback_url": url},
            )
        assert response.status_code == 400, (url, response.text)
        assert "callback_url" in response.json()["detail"]
    assert list((services.data_dir / "video_jobs").glob("*.mp4")) == []


def test_a_dead_receiver_does_not_delay_another_receivers_event(services_factory, clip_path):
    # Deliveries to the dead receiver wait out this timeout: an event lined up behind
    # them would arrive after it, so "before it" is the behaviour, with room for load.
    dead_timeout_s = 60
    services = services_factory(
        webhook_secret=SECRET, webhook_allow_private=True, webhook_timeout_s=dead_timeout_s
    )
    services.start_api_as_make_run()
    dead, live = DeadReceiver(), Receiver()
    try:

        def submit_and_cancel(url: str) -> str:
            with clip_path.open("rb") as handle:
                response = services.client.post(
                    "/video/submit",
                    files={"file": ("clip.mp4", handle, "video/mp4")},
                    data={"callback_url": url},
                )
            assert response.status_code == 200, response.text
            job_id = response.json()["job_id"]
            assert services.client.delete(f"/video/jobs/{job_id}").status_code in (200, 202)
            return job_id

        for _ in range(24):  # 24 job.canceled events for a receiver that never answers
            submit_and_cancel(dead.url)
        time.sleep(1.0)  # the dispatcher has them all in flight or lined up
        sent = time.monotonic()
        job_id = submit_and_cancel(live.url)
        deadline = sent + dead_timeout_s / 2
        while not live.arrivals and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live.arrivals, "the live event waited for the dead receiver's deliveries"
        assert live.arrivals[0][1]["job_id"] == job_id
        assert dead.held, "no delivery reached the dead receiver: the test shows nothing"
    finally:
        dead.close()
        live.close()


def test_health_is_503_when_the_database_cannot_be_written(services_factory):
    services = services_factory()
    services.start_api_as_make_run()
    assert services.client.get("/health").json()["database"] == "ok"
    locker = sqlite3.connect(services.data_dir / "jobs.db", timeout=1, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # holds the write lock: reads work, writes cannot
        response = services.client.get("/health")  # answers (the client waits up to 30 s)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy" and body["database"].startswith("cannot write")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert services.client.get("/health").status_code == 200


def test_health_is_503_when_free_space_is_under_the_floor(services_factory):
    services = services_factory(min_free_bytes=2**62)
    services.start_api_as_make_run(wait=False)
    deadline = time.monotonic() + ANSWER_BOUND_S * 6
    response = None
    while time.monotonic() < deadline:
        try:
            response = services.client.get("/health")
            break
        except httpx.TransportError:
            time.sleep(0.1)
    assert response is not None and response.status_code == 503
    body = response.json()
    assert body["disk"].startswith("low") and "VIDEO_JOBS_MIN_FREE_BYTES" in body["disk"]
    assert body["database"] == "ok" and body["queue"] == "ok"


def _closed_by_server(sock: socket.socket, until: float) -> bool:
    sock.settimeout(max(0.01, until - time.monotonic()))
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_slow_clients_are_closed_within_the_timeouts(services_factory):
    services = services_factory(
        http_header_timeout_s=2,
        http_body_timeout_s=2,
        http_max_connections_per_client=0,  # 400 from one address: the timeouts close them
    )
    services.start_api_as_make_run()
    address = ("127.0.0.1", services.api_port)
    opened = time.monotonic()
    slow = []
    for _ in range(400):  # headers that never end
        sock = socket.create_connection(address)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        slow.append(sock)
    trickle = socket.create_connection(address)  # one header byte every 0.3 s
    upload = socket.create_connection(address)  # a body that stops after 10 bytes
    upload.sendall(
        b"POST /video/submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
        b"boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nConten"
    )
    assert services.client.get("/health").status_code == 200  # while 400 are held open
    for byte in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 40:
        try:
            trickle.send(bytes([byte]))
        except OSError:
            break
        time.sleep(0.3)
        if time.monotonic() - opened > 8:
            break
    until = opened + 2 + ANSWER_BOUND_S  # the timeout plus generous slack on a busy machine
    try:
        assert all(_closed_by_server(sock, until) for sock in slow), "slow headers kept open"
        assert _closed_by_server(trickle, until), "a trickle of header bytes kept it open"
        assert _closed_by_server(upload, until + 2), "a stalled body kept it open"
        assert services.client.get("/health").status_code == 200
    finally:
        for sock in [*slow, trickle, upload]:
            sock.close()


def test_beyond_the_connection_limit_the_answer_is_a_json_503(services_factory):
    services = services_factory(http_header_timeout_s=30)
    services.start_api_as_make_run(http_limit_concurrency=10)
    idle = [socket.create_connection(("127.0.0.1", services.api_port)) for _ in range(10)]
    try:
        time.sleep(0.5)
        with httpx.Client(base_url=str(services.client.base_url), timeout=10) as client:
            response = client.get("/health")
        assert response.status_code == 503
        assert "VIDEO_JOBS_HTTP_LIMIT_CONCURRENCY" in response.json()["detail"]
        assert response.headers["Retry-After"] == "1"
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.5)
    assert services.client.get("/health").status_code == 200
