"""The bad-input matrix over HTTP: each case is a clear 4xx, or a failed job with a clear
message; nothing partial is left behind and the worker keeps going."""

from __future__ import annotations

import errno
import os
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from app.tests.helpers import app_state
from app.workers.worker import Worker

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings.max_upload_bytes = 200_000
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _worker(client: TestClient) -> Worker:
    state = app_state(client)
    return Worker(jobs=state.jobs, queue=state.queue, storage=state.storage, runner=state.runner)


def _submit(client: TestClient, payload: bytes, name: str = "clip.mp4", **params):
    return client.post("/video/submit", files={"file": (name, payload, "video/mp4")}, **params)


def _stored_files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "video_jobs").iterdir())


def _run_to_end(client: TestClient, job_id: str) -> dict:
    assert _worker(client).run_once(wait=5)
    return client.get(f"/video/status/{job_id}").json()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_without_video_track() -> bytes:
    """A well-formed MP4 (ftyp + moov with only a movie header): no track at all."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    mvhd = _box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, 0) + bytes(80))
    return ftyp + _box(b"moov", mvhd)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", "empty"),
        (b"GIF89a" + bytes(100), "not an MP4"),
        (b"\x00\x00\x00\x18ftyp"[:6], "not an MP4"),
        (b"<html><body>not a video</body></html>", "not an MP4"),
    ],
)
def test_rejected_upload_is_400_and_leaves_nothing(client, data_dir, payload, expected):
    response = _submit(client, payload)
    assert response.status_code == 400
    assert expected in response.json()["detail"]
    assert _stored_files(data_dir) == []
    assert app_state(client).jobs.list_jobs() == []


def test_ftyp_followed_by_garbage_is_400_at_submit(client, data_dir):
    response = _submit(client, b"\x00\x00\x00\x18ftypisom" + os.urandom(4096))
    assert response.status_code == 400
    assert "the MP4's header cannot be read" in response.json()["detail"]
    assert _stored_files(data_dir) == []
    assert app_state(client).jobs.list_jobs() == []


def test_mp4_cut_before_its_moov_is_400_and_the_next_job_still_runs(client, clip_path: Path):
    whole = clip_path.read_bytes()  # OpenCV writes the moov after the media
    truncated = _submit(client, whole[: len(whole) // 2])
    assert truncated.status_code == 400
    assert "no 'moov' box" in truncated.json()["detail"]
    good = _submit(client, whole).json()["job_id"]
    assert _run_to_end(client, good)["status"] == "completed"


def test_mp4_without_a_video_track_is_400_at_submit(client, data_dir):
    response = _submit(client, mp4_without_video_track())
    assert response.status_code == 400
    assert response.json()["detail"] == "the MP4 has no video track"
    assert _stored_files(data_dir) == []
    assert app_state(client).jobs.list_jobs() == []


def test_oversized_upload_is_413_before_the_body_is_read(client, data_dir):
    response = client.post(
        "/video/submit",
        content=b"x" * 10,
        headers={"Content-Length": "999999999", "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert _stored_files(data_dir) == []


def test_oversized_chunked_upload_is_cut_off_with_413(client, data_dir):
    boundary = "testboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield head + b"\x00\x00\x00\x18ftypisom"
        for _ in range(40):
            yield bytes(65536)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/video/submit",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert _stored_files(data_dir) == []
    assert app_state(client).jobs.list_jobs() == []


def test_file_just_over_the_limit_is_413_with_no_partial_file(client, data_dir):
    payload = b"\x00\x00\x00\x18ftypisom" + bytes(200_000)
    response = _submit(client, payload)
    assert response.status_code == 413
    assert _stored_files(data_dir) == []


def test_client_filename_never_reaches_the_filesystem(client, data_dir, clip_path: Path):
    response = _submit(client, clip_path.read_bytes(), name="../../escape.mp4")
    assert response.status_code == 200
    job_id = response.json()["job_id"]
    assert uuid.UUID(job_id).version == 4
    assert _stored_files(data_dir) == [f"{job_id}.mp4"]
    assert not (data_dir.parent / "escape.mp4").exists()
    assert not (data_dir / "escape.mp4").exists()


@pytest.mark.parametrize("route", ["/video/status/{}", "/video/results/{}"])
def test_malformed_and_unknown_job_ids(client, route):
    assert client.get(route.format("not-a-uuid")).status_code == 422
    assert client.get(route.format("../../etc/passwd")).status_code == 404
    unknown = client.get(route.format(uuid.uuid4()))
    assert unknown.status_code == 404
    assert "no job" in unknown.json()["detail"]


def test_unknown_pipeline_is_400_listing_the_valid_ids(client, data_dir, clip_path: Path):
    response = _submit(client, clip_path.read_bytes(), data={"pipeline_id": "nope"})
    assert response.status_code == 400
    assert "motion" in response.json()["detail"]
    assert _stored_files(data_dir) == []


def test_disk_full_during_upload_is_507_with_no_file_and_no_row(
    client, data_dir, clip_path: Path, monkeypatch
):
    def full_disk(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("app.adapters.storage.filesystem.os.fsync", full_disk)
    response = _submit(client, clip_path.read_bytes())
    assert response.status_code == 507
    assert "disk is full" in response.json()["detail"]
    assert _stored_files(data_dir) == []
    assert app_state(client).jobs.list_jobs() == []
