"""The submit route in-process with real files: the header limits (contract "Limits"),
the multipart rules (one `file` part, capped fields), and where the upload is written."""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import staging
from app.api.main import create_app
from app.settings import Settings
from app.testing import mp4_synth as s
from app.tests.helpers import app_state

pytestmark = pytest.mark.integration
MIB = 1 << 20


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _mp4(*traks: bytes, mdat: int = 64) -> bytes:
    return s.ftyp() + s.box("moov", s.mvhd(), *traks) + s.box("mdat", bytes(mdat))


def _submit(client: TestClient, video: bytes, **kwargs):
    files = kwargs.pop("files", {"file": ("clip.mp4", video, "video/mp4")})
    return client.post("/video/submit", files=files, **kwargs)


def _stored(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.storage_dir.iterdir())


def _nothing_accepted(client: TestClient, settings: Settings) -> None:
    assert _stored(settings) == []
    assert app_state(client).jobs.list_jobs() == []


@pytest.mark.parametrize(
    ("video", "words"),
    [
        (_mp4(s.video_trak(16000, 16000, frames=6)), "(VIDEO_JOBS_MAX_PIXELS)"),
        (
            _mp4(s.video_trak(64, 64, frames=10, timescale=1000, duration=5 * 3600 * 1000)),
            "18000.0 s long, over the limit of 14400 s (VIDEO_JOBS_MAX_DURATION_S)",
        ),
        (
            _mp4(s.video_trak(16, 16, frames=2_000_000, timescale=1000, duration=600_000)),
            "2000000 frames, over the limit of 1000000 frames (VIDEO_JOBS_MAX_FRAMES)",
        ),
        (_mp4(s.audio_trak()), "the MP4 has no video track"),
        (s.ftyp() + s.box("mdat", bytes(100)), "the MP4's header cannot be read"),
    ],
    ids=["pixels", "duration", "frames", "audio-only", "no-moov"],
)
def test_a_header_over_a_limit_is_400_and_nothing_is_kept(client, settings, video, words):
    response = _submit(client, video)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    _nothing_accepted(client, settings)


def test_the_limits_come_from_settings(settings, clip_path: Path) -> None:
    settings.max_pixels = 320 * 240 - 1
    with TestClient(create_app(settings)) as client:
        response = _submit(client, clip_path.read_bytes())
        assert response.status_code == 400
        assert "320x240 (76800 pixels)" in response.json()["detail"]
        _nothing_accepted(client, settings)


def test_an_accepted_job_starts_with_the_declared_frame_count(client, settings, clip_path):
    response = _submit(client, clip_path.read_bytes())
    assert response.status_code == 200, response.text
    job = app_state(client).jobs.list_jobs()[0]
    assert job.frames_total == 30
    assert _stored(settings) == [f"{job.job_id}.mp4"]


@pytest.mark.parametrize(
    ("files", "data", "status", "words"),
    [
        (
            [("file", ("a.mp4", b"x", "video/mp4")), ("file", ("b.mp4", b"y", "video/mp4"))],
            {},
            400,
            "exactly one file part",
        ),
        (
            [("file", ("a.mp4", b"x", "video/mp4")), ("video", ("b.mp4", b"y", "video/mp4"))],
            {},
            400,
            "exactly one file part",
        ),
        (None, {f"field{i}": "x" for i in range(33)}, 400, "at most 32 form fields"),
        (None, {"note": "n" * (64 * 1024 + 1)}, 413, "'note' is over the limit of 65536"),
    ],
    ids=["two-files", "file-and-video", "too-many-fields", "big-field"],
)
def test_more_parts_or_big_fields_are_refused(client, settings, files, data, status, words):
    video = _mp4(s.video_trak())
    files = files or {"file": ("clip.mp4", video, "video/mp4")}
    response = client.post("/video/submit", files=files, data=data)
    assert response.status_code == status
    assert words in response.json()["detail"]
    _nothing_accepted(client, settings)


def test_a_field_of_exactly_64_kib_is_accepted(client) -> None:
    response = _submit(client, _mp4(s.video_trak()), data={"note": "n" * 64 * 1024})
    assert response.status_code == 200, response.text


def test_a_file_part_with_another_name_is_422_and_not_kept(client, settings) -> None:
    files = {"video": ("clip.mp4", _mp4(s.video_trak()), "video/mp4")}
    response = client.post("/video/submit", files=files)
    assert response.status_code == 422
    _nothing_accepted(client, settings)


def test_a_multipart_body_without_a_boundary_is_400(client, settings) -> None:
    response = client.post(
        "/video/submit", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert response.status_code == 400
    assert "boundary" in response.json()["detail"]
    _nothing_accepted(client, settings)


class _FullDisk:
    """A file handle whose disk fills after `room` bytes."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data: bytes) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.handle.write(data)

    def __getattr__(self, name: str):
        return getattr(self.handle, name)


def test_a_full_disk_while_writing_is_507_and_removes_the_part_file(
    client, settings, monkeypatch
) -> None:
    real_open = staging.StagedFile.open  # bound to StagedFile, the only class opened

    def open_on_a_small_disk(_cls, *args):
        staged = real_open(*args)
        staged.handle = _FullDisk(staged.handle, MIB)
        return staged

    monkeypatch.setattr(staging.StagedFile, "open", classmethod(open_on_a_small_disk))
    response = _submit(client, _mp4(s.video_trak(), mdat=4 * MIB))
    assert response.status_code == 507
    assert response.json()["detail"] == "the server's disk is full; try again later"
    _nothing_accepted(client, settings)


def test_a_full_temp_dir_plays_no_part(client, settings, monkeypatch) -> None:
    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device (the temp dir)")

    for name in ("TemporaryFile", "SpooledTemporaryFile", "NamedTemporaryFile"):
        monkeypatch.setattr(tempfile, name, full)
    response = _submit(client, _mp4(s.video_trak(), mdat=3 * MIB))
    assert response.status_code == 200, response.text
    assert len(_stored(settings)) == 1


def test_min_free_bytes_counts_the_upload_while_it_is_written(settings) -> None:
    settings.min_free_bytes = 100 * MIB
    with TestClient(create_app(settings)) as client:
        storage = app_state(client).storage

        def free_bytes() -> int:  # 120 MiB free, less what the upload has taken
            parts = settings.storage_dir.glob(".upload-*.part")
            return 120 * MIB - sum(p.stat().st_size for p in parts)

        storage.free_bytes = free_bytes
        video = _mp4(s.video_trak(), mdat=40 * MIB)

        def body() -> Iterator[bytes]:  # no Content-Length: only the running count
            head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n\r\n'
            yield head
            for start in range(0, len(video), MIB):
                yield video[start : start + MIB]
            yield b"\r\n--b--\r\n"

        headers = {"Content-Type": "multipart/form-data; boundary=b"}
        response = client.post("/video/submit", content=body(), headers=headers)
        assert response.status_code == 507
        assert "low on disk space" in response.json()["detail"]
        _nothing_accepted(client, settings)
        declared = client.post(
            "/video/submit",
            content=b"",
            headers={**headers, "Content-Length": str(30 * MIB)},
        )
        assert declared.status_code == 507  # known not to fit: refused before the body
