"""A file written as a job goes, that appears under its key only once complete.

The bytes go to a hidden `.<name>.<random>.part` file in the storage directory (the
name the retention sweep recognises as an abandoned write if the worker is killed),
renamed into place on commit; discard removes it. A reader never sees half a file.
The writer (FFmpeg) is not ours, so `grew` is called after each piece it writes: the
storage's free-space floor is checked at the first and after every
FREE_SPACE_CHECK_BYTES of growth.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from app.domain.errors import InsufficientStorage, JobFileLost
from app.domain.ports import FREE_SPACE_CHECK_BYTES, StorageService

PART_SUFFIX = ".part"


class PartFile:
    def __init__(self, storage: StorageService, key: str) -> None:
        self.storage = storage
        self.key = key
        self.target = Path(storage.local_path(key))
        fd, name = tempfile.mkstemp(
            dir=self.target.parent, prefix=f".{self.target.name}.", suffix=PART_SUFFIX
        )
        os.close(fd)
        self.path = Path(name)
        self._checked_at: int | None = None  # the file's size at the last check

    def grew(self) -> None:
        """InsufficientStorage (the file removed) when free space is under the floor."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError as exc:
            raise JobFileLost(self.key) from exc
        if self._checked_at is not None and size - self._checked_at < FREE_SPACE_CHECK_BYTES:
            return
        self._checked_at = size
        try:
            self.storage.check_free_space()
        except InsufficientStorage:
            self.discard()
            raise

    def commit(self) -> None:
        """Flush to disk and rename into place (atomic on one filesystem)."""
        try:
            with self.path.open("rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self.path, self.target)
        except FileNotFoundError as exc:
            raise JobFileLost(self.key) from exc

    def discard(self) -> None:
        """Remove the partial file, and the finished one if it was already committed."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.storage.delete_file(self.key)
