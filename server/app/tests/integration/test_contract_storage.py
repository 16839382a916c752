"""The StorageService contract, run against the filesystem and the in-memory adapter,
plus the filesystem's own promise: a failed write (too large, disk full, a broken
upload) leaves neither the file nor a temporary file behind."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.adapters.storage import filesystem
from app.adapters.storage.filesystem import FilesystemStorage
from app.adapters.storage.in_memory import InMemoryStorage
from app.domain.errors import InsufficientStorage, StoragePathError, UploadTooLarge
from app.domain.ports import StorageService

KEY = "0b0e9a51-2f7c-4e4e-9d7c-5a3f1f0c1a2b.mp4"
ABSOLUTE = "<absolute path outside the storage directory>"
ESCAPING_KEYS = ["../x", "a/b", "..", ".", ABSOLUTE, "", "a\\b", "nul\0byte"]


class BrokenUpload(Exception):
    """What a client disconnecting halfway through an upload looks like to storage."""


@pytest.fixture(
    params=[
        pytest.param("filesystem", marks=pytest.mark.integration),
        pytest.param("memory", marks=pytest.mark.unit),
    ]
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageService:
    if request.param == "memory":
        return InMemoryStorage()
    return FilesystemStorage(tmp_path / "data" / "video_jobs", tmp_path / "data")


@pytest.fixture
def disk(tmp_path: Path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "data" / "video_jobs", tmp_path / "data")


def entries(storage: StorageService) -> list[str]:
    """Every name in the storage directory, temporary files included."""
    if isinstance(storage, FilesystemStorage):
        return sorted(os.listdir(storage.root))
    return sorted(storage.files)  # type: ignore[attr-defined]


def broken_chunks() -> Iterator[bytes]:
    yield b"first part"
    raise BrokenUpload("the client went away")


def test_saved_chunks_load_back_and_the_size_is_returned(storage: StorageService) -> None:
    assert storage.save_file(KEY, [b"abc", b"", b"defg"]) == 7
    assert storage.load_file(KEY) == b"abcdefg"
    assert storage.exists(KEY)
    assert entries(storage) == [KEY]


def test_saving_again_replaces_the_file(storage: StorageService) -> None:
    storage.save_file(KEY, [b"old contents"])
    storage.save_file(KEY, [b"new"])
    assert storage.load_file(KEY) == b"new"


def test_an_upload_of_exactly_max_bytes_is_accepted(storage: StorageService) -> None:
    assert storage.save_file(KEY, [b"12345", b"678"], max_bytes=8) == 8


def test_an_upload_over_max_bytes_is_refused_and_leaves_nothing(storage: StorageService) -> None:
    with pytest.raises(UploadTooLarge):
        storage.save_file(KEY, [b"12345", b"6789"], max_bytes=8)
    assert not storage.exists(KEY)
    assert entries(storage) == []


def test_a_broken_upload_leaves_nothing(storage: StorageService) -> None:
    with pytest.raises(BrokenUpload):
        storage.save_file(KEY, broken_chunks())
    assert entries(storage) == []


def test_a_failed_save_keeps_the_previous_file(storage: StorageService) -> None:
    storage.save_file(KEY, [b"good"])
    with pytest.raises(BrokenUpload):
        storage.save_file(KEY, broken_chunks())
    assert storage.load_file(KEY) == b"good"
    assert entries(storage) == [KEY]


@pytest.mark.parametrize(
    "key",
    ESCAPING_KEYS,
    ids=["parent", "subdir", "dotdot", "dot", "absolute", "empty", "bs", "nul"],
)
def test_keys_that_escape_the_storage_directory_are_refused(
    storage: StorageService, key: str, tmp_path: Path
) -> None:
    if key == ABSOLUTE:
        key = str(tmp_path / "outside")
    for call in (
        lambda: storage.save_file(key, [b"x"]),
        lambda: storage.load_file(key),
        lambda: storage.delete_file(key),
        lambda: storage.exists(key),
        lambda: storage.local_path(key),
        lambda: storage.relative_path(key),
    ):
        with pytest.raises(StoragePathError):
            call()
    assert entries(storage) == []
    created = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert created in ([], ["data", "data/video_jobs"])


def test_delete_reports_whether_there_was_a_file(storage: StorageService) -> None:
    storage.save_file(KEY, [b"x"])
    assert storage.delete_file(KEY) is True
    assert not storage.exists(KEY)
    assert storage.delete_file(KEY) is False


def test_loading_a_missing_file_raises_file_not_found(storage: StorageService) -> None:
    with pytest.raises(FileNotFoundError):
        storage.load_file(KEY)


def test_relative_path_is_relative_to_data_dir(storage: StorageService) -> None:
    assert storage.relative_path(KEY) == f"video_jobs/{KEY}"
    assert (
        storage.relative_path(f"{KEY[:-4]}_results.json") == f"video_jobs/{KEY[:-4]}_results.json"
    )


@pytest.mark.integration
def test_local_path_opens_the_stored_bytes(disk: FilesystemStorage, tmp_path: Path) -> None:
    disk.save_file(KEY, [b"frame data"])
    path = Path(disk.local_path(KEY))
    assert path == tmp_path / "data" / "video_jobs" / KEY
    assert path.read_bytes() == b"frame data"


class FailingHandle:
    """Wraps a real file handle; write() fails with the given errno after one chunk."""

    def __init__(self, handle, code: int) -> None:
        self._handle = handle
        self._code = code
        self._writes = 0

    def write(self, data: bytes) -> int:
        self._writes += 1
        if self._writes > 1:
            raise OSError(self._code, os.strerror(self._code))
        return self._handle.write(data)

    def __getattr__(self, name: str):
        return getattr(self._handle, name)

    def __enter__(self) -> FailingHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def fail_writes(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    real_fdopen = os.fdopen
    monkeypatch.setattr(
        filesystem.os, "fdopen", lambda *a, **kw: FailingHandle(real_fdopen(*a, **kw), code)
    )


@pytest.mark.integration
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_during_write_is_insufficient_storage_and_leaves_nothing(
    disk: FilesystemStorage, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    fail_writes(monkeypatch, code)
    with pytest.raises(InsufficientStorage):
        disk.save_file(KEY, [b"one", b"two", b"three"])
    assert entries(disk) == []


@pytest.mark.integration
def test_a_full_disk_at_fsync_is_insufficient_storage_and_leaves_nothing(
    disk: FilesystemStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(filesystem.os, "fsync", no_space)
    with pytest.raises(InsufficientStorage):
        disk.save_file(KEY, [b"data"])
    assert entries(disk) == []


@pytest.mark.integration
def test_other_os_errors_propagate_and_leave_nothing(
    disk: FilesystemStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_writes(monkeypatch, errno.EIO)
    with pytest.raises(OSError) as raised:
        disk.save_file(KEY, [b"one", b"two"])
    assert raised.value.errno == errno.EIO
    assert entries(disk) == []


@pytest.mark.integration
def test_storage_removes_the_temporary_files_its_caller_calls_abandoned(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path / "video_jobs", tmp_path)
    storage.save_file("kept.mp4", [b"done"])
    abandoned = storage.root / ".x.mp4.abc123.part"  # what a kill -9 mid-upload leaves
    abandoned.write_bytes(b"half an upload")
    fresh = storage.root / ".y.mp4.def456.part"  # a write still in progress
    fresh.write_bytes(b"being written")
    an_hour_ago = abandoned.stat().st_mtime - 3600
    os.utime(abandoned, (an_hour_ago, an_hour_ago))
    asked: dict[str, float] = {}

    def idle_over_900(name: str, idle_s: float) -> bool:
        asked[name] = idle_s
        return idle_s > 900

    assert storage.remove_abandoned_writes(idle_over_900) == 1
    assert set(asked) == {abandoned.name, fresh.name}  # finished files are never asked about
    assert asked[abandoned.name] > 3500 and asked[fresh.name] < 60
    assert not abandoned.exists()
    assert fresh.exists() and storage.exists("kept.mp4")
    assert storage.remove_abandoned_writes(idle_over_900) == 0
