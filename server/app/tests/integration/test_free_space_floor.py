"""A job's files stop at VIDEO_JOBS_MIN_FREE_BYTES: free space is faked to shrink with
every byte the storage directory holds, so the figure where writing stops is exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.storage import filesystem
from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.errors import InsufficientStorage
from app.domain.ports import FREE_SPACE_CHECK_BYTES

pytestmark = pytest.mark.integration

MiB = 1 << 20
DISK = 100 * MiB
RESERVE = 96 * MiB  # 4 MiB may be written


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FilesystemStorage:
    root = tmp_path / "video_jobs"

    def free_bytes(_path: Path) -> int:
        return DISK - sum(p.stat().st_size for p in root.iterdir())

    monkeypatch.setattr(filesystem, "_free_bytes", free_bytes)
    return FilesystemStorage(root, tmp_path, min_free_bytes=RESERVE)


def held(storage: FilesystemStorage) -> list[Path]:
    return list(storage.root.iterdir())


def test_a_results_file_stops_at_the_reserve_and_is_removed(storage: FilesystemStorage):
    write = storage.open_write("job_results.json")
    chunk = b"x" * (64 << 10)
    written = 0
    with pytest.raises(InsufficientStorage) as caught:
        for _ in range(10 * MiB // len(chunk)):
            write.write(chunk)
            written += len(chunk)
    assert DISK - RESERVE <= written <= DISK - RESERVE + FREE_SPACE_CHECK_BYTES
    assert "the server is low on disk space" in str(caught.value)
    assert f"VIDEO_JOBS_MIN_FREE_BYTES={RESERVE}" in str(caught.value)
    assert held(storage) == []  # the .part file is gone


def test_a_file_written_by_another_library_stops_at_the_reserve(storage: FilesystemStorage):
    part = storage.open_write("job_annotated.mp4")
    with pytest.raises(InsufficientStorage), open(part.path, "ab") as handle:
        for _ in range(10):
            handle.write(b"v" * MiB)
            handle.flush()
            part.grew()
    assert held(storage) == []


def test_without_a_floor_free_space_is_never_asked(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(filesystem, "_free_bytes", lambda _path: pytest.fail("asked"))
    storage = FilesystemStorage(tmp_path / "video_jobs", tmp_path)
    write = storage.open_write("job_results.json")
    write.write(b"{}")
    write.commit()
    assert (storage.root / "job_results.json").read_bytes() == b"{}"
