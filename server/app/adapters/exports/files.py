"""A file written as a job goes, that appears under its key only once complete.

The bytes go to a hidden `.<name>.<random>.part` file in the storage directory (the
name the retention sweep recognises as an abandoned write if the worker is killed),
renamed into place on commit; discard removes it. A reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from app.domain.errors import JobFileLost
from app.domain.ports import StorageService

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
