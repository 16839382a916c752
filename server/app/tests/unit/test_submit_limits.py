"""Submit with fakes: the header check (contract "Limits"), staged uploads, and the
API-key check that answers before the body is read."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from app.api.auth import ApiKeyMiddleware, is_protected
from app.domain.errors import InvalidUpload, UploadTooLarge
from app.domain.frames import FrameLimits
from app.domain.ports import StagedUpload, VideoHeader, VideoInspector
from app.domain.services import submit_video
from app.domain.video_limits import NO_VIDEO_TRACK, check_header
from app.tests.unit.conftest import MP4_BYTES

pytestmark = pytest.mark.unit

GOOD = VideoHeader(has_video=True, width=640, height=360, frame_count=250, duration_s=10.0)
LIMITS = FrameLimits(max_pixels=1920 * 1080, max_duration_s=60.0, max_frames=1000)


class FakeInspector(VideoInspector):
    def __init__(self, header: VideoHeader | None = None, error: Exception | None = None):
        self.header, self.error = header, error
        self.paths: list[str] = []

    def inspect(self, path: str) -> VideoHeader:
        self.paths.append(path)
        if self.error is not None:
            raise self.error
        assert self.header is not None
        return self.header


class FakeStaged(StagedUpload):
    """An upload 'already on disk': store() puts it in the storage in one piece."""

    def __init__(self, storage, data: bytes = MP4_BYTES) -> None:
        self.storage, self.data = storage, data
        self.size, self.head = len(data), data[:8]
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.stored_as: list[str] = []

    def store(self, key: str) -> None:
        self.storage.save_file(key, [self.data])
        self.stored_as.append(key)

    def discard(self) -> None:
        raise AssertionError("the service never discards: the route does")


def _submit(jobs, queue, storage, runner, inspector, upload=None, **kw):
    return submit_video(
        upload if upload is not None else [MP4_BYTES],
        "quality",
        jobs=jobs,
        queue=queue,
        storage=storage,
        runner=runner,
        inspector=inspector,
        limits=LIMITS,
        **kw,
    )


def test_a_header_within_the_limits_makes_a_job_whose_total_is_the_declared_count(
    jobs, queue, storage, runner
) -> None:
    inspector = FakeInspector(GOOD)
    job = _submit(jobs, queue, storage, runner, inspector)
    assert jobs.get(job.job_id).frames_total == 250
    assert inspector.paths == [storage.local_path(f"{job.job_id}.mp4")]
    assert queue.size() == 1


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (VideoHeader(has_video=False, has_audio=True), NO_VIDEO_TRACK),
        (
            VideoHeader(True, width=16000, height=16000, frame_count=6, duration_s=1.0),
            "16000x16000 (256000000 pixels), over the limit of 2073600 pixels "
            "(VIDEO_JOBS_MAX_PIXELS)",
        ),
        (
            VideoHeader(True, width=16, height=16, frame_count=10, duration_s=61.0),
            "61.0 s long, over the limit of 60 s (VIDEO_JOBS_MAX_DURATION_S)",
        ),
        (
            VideoHeader(True, width=16, height=16, frame_count=1001, duration_s=1.0),
            "1001 frames, over the limit of 1000 frames (VIDEO_JOBS_MAX_FRAMES)",
        ),
    ],
)
def test_a_header_over_a_limit_is_refused_and_leaves_nothing(
    jobs, queue, storage, runner, header, words
) -> None:
    with pytest.raises(InvalidUpload) as caught:
        _submit(jobs, queue, storage, runner, FakeInspector(header))
    assert words in str(caught.value)
    assert storage.files == {}
    assert sum(jobs.count_by_status().values()) == 0
    assert queue.size() == 0


def test_an_unreadable_header_is_refused_and_the_file_removed(jobs, queue, storage, runner):
    error = InvalidUpload("the MP4's header cannot be read: there is no 'moov' box")
    with pytest.raises(InvalidUpload, match="no 'moov' box"):
        _submit(jobs, queue, storage, runner, FakeInspector(error=error))
    assert storage.files == {}
    assert sum(jobs.count_by_status().values()) == 0


def test_unknown_counts_pass_the_header_check() -> None:
    check_header(VideoHeader(True, width=16, height=16), LIMITS)  # fragmented, no count
    check_header(VideoHeader(True, width=1920, height=1080, frame_count=1000), LIMITS)


def test_a_staged_upload_is_moved_into_place_once(jobs, queue, storage, runner) -> None:
    staged = FakeStaged(storage)
    job = _submit(jobs, queue, storage, runner, FakeInspector(GOOD), upload=staged)
    assert staged.stored_as == [f"{job.job_id}.mp4"]
    assert storage.files == {f"{job.job_id}.mp4": MP4_BYTES}
    assert job.input_sha256 == hashlib.sha256(MP4_BYTES).hexdigest()


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", InvalidUpload, "empty"),
        (b"GIF89a" + bytes(20), InvalidUpload, "not an MP4"),
        (MP4_BYTES + bytes(100), UploadTooLarge, "larger than"),
    ],
)
def test_a_staged_upload_that_is_not_an_mp4_or_too_large_is_never_stored(
    jobs, queue, storage, runner, data, error, words
) -> None:
    staged = FakeStaged(storage, data)
    inspector = FakeInspector(GOOD)
    with pytest.raises(error, match=words):
        _submit(jobs, queue, storage, runner, inspector, upload=staged, max_bytes=len(MP4_BYTES))
    assert staged.stored_as == []
    assert storage.files == {}


def _call(app, path: str, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    """Run an ASGI app on one request whose body must never be read."""
    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("the body was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent


async def _ok_app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/video/submit", [], 401),
        ("/v1/video/submit", [(b"x-api-key", b"wrong")], 401),
        ("/video/status/x", [(b"x-api-key", b"secret-key")], 200),
        ("/health", [], 200),
        ("/v1/health", [], 200),
        ("/metrics", [], 200),
        ("/videos-elsewhere", [], 200),
    ],
)
def test_the_key_is_checked_from_the_headers_alone(path, headers, status) -> None:
    app = ApiKeyMiddleware(_ok_app, api_key=lambda: "secret-key")
    sent = _call(app, path, headers)
    assert sent[0]["status"] == status
    if status == 401:
        assert sent[1]["body"] == b'{"detail":"missing or wrong X-API-Key header"}'


def test_without_a_configured_key_nothing_is_protected() -> None:
    app = ApiKeyMiddleware(_ok_app, api_key=lambda: None)
    assert _call(app, "/video/submit", [])[0]["status"] == 200
    assert is_protected("/video") and is_protected("/v1/video/jobs")
    assert not is_protected("/web/app.js")
