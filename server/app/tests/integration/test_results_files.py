"""The results writer on a real directory: files appear only whole, and a full disk
in the middle of a job leaves nothing behind (a half-written file is never served)."""

from __future__ import annotations

import errno
import io
import uuid

import pytest

from app.adapters.storage.filesystem import FilesystemStorage
from app.domain.errors import InsufficientStorage
from app.domain.frames import Frame
from app.domain.model import Job
from app.domain.results_writer import ResultsWriter

pytestmark = pytest.mark.integration
VIDEO = {"fps": 25.0, "frame_count": 3, "width": 16, "height": 16, "duration_s": 0.12}


class FillingDisk(io.RawIOBase):
    """A file on a disk with `room` bytes left: the write that passes it gets ENOSPC."""

    def __init__(self, inner, room: int) -> None:
        self.inner, self.room = inner, room

    def write(self, data) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.inner.write(data)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def storage(tmp_path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "video_jobs", tmp_path)


def job() -> Job:
    return Job(job_id=uuid.uuid4(), pipeline_id="motion", input_path="video_jobs/x.mp4")


def test_nothing_is_visible_until_close_and_close_leaves_no_temporary_file(storage):
    writer = ResultsWriter(storage, job())
    for i in range(3):
        writer.add(Frame(i, 40 * i, None, {"n": i}))
    assert not [p for p in storage.root.iterdir() if not p.name.startswith(".")]
    writer.close(VIDEO)
    names = sorted(p.name for p in storage.root.iterdir())
    assert [n.split("_", 1)[1] for n in names] == ["results.idx", "results.json", "results.jsonl"]


@pytest.mark.parametrize("room", [0, 100, 5000])
def test_a_full_disk_mid_job_removes_every_file_of_the_writer(storage, room):
    writer = ResultsWriter(storage, job())
    writer._lines._handle = FillingDisk(writer._lines._handle, room)
    with pytest.raises(InsufficientStorage, match="disk is full"):
        for i in range(10_000):
            writer.add(Frame(i, 40 * i, None, {"detections": [{"label": "x"}] * 5}))
        writer.close(VIDEO)
    writer.abort()
    assert list(storage.root.iterdir()) == []
