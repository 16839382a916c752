"""An upload written straight into the storage directory while the body arrives.

`.upload-<random>.part` beside the stored files: on the same disk, so MIN_FREE_BYTES
and a full disk (507) see it, and `store` is a rename (one copy, no second write). The
API's sweep removes a `.part` file left by a killed process.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from app.adapters.storage.filesystem import PART_SUFFIX
from app.domain.ports import StagedUpload, StorageService

log = logging.getLogger(__name__)

UPLOAD_PREFIX = ".upload-"
HEAD_BYTES = 8
# MIN_FREE_BYTES is checked again after every this many bytes written.
FREE_SPACE_CHECK_BYTES = 8 * 1024 * 1024


class UploadRejected(Exception):
    """The body cannot be accepted; becomes an HTTP error with this status and detail."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class StagedFile(StagedUpload):
    def __init__(
        self, storage: StorageService, path: Path, handle: BinaryIO, max_bytes: int, min_free: int
    ) -> None:
        self.storage = storage
        self.path = path
        self.handle = handle
        self.max_bytes = max_bytes
        self.min_free = min_free
        self.size = 0
        self.head = b""
        self._digest = hashlib.sha256()
        self._next_free_check = FREE_SPACE_CHECK_BYTES
        self._stored = False
        self._discarded = False

    @classmethod
    def open(
        cls, storage: StorageService, directory: Path, max_bytes: int, min_free_bytes: int
    ) -> StagedFile:
        """A new empty file in `directory`, the storage's own (507 when it cannot be made)."""
        _check_free(storage, min_free_bytes)
        try:
            fd, name = tempfile.mkstemp(dir=directory, prefix=UPLOAD_PREFIX, suffix=PART_SUFFIX)
        except OSError as exc:
            raise _disk_error(exc) from exc
        handle = os.fdopen(fd, "w+b")
        return cls(storage, Path(name), handle, max_bytes, min_free_bytes)

    def write_all(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self._write(chunk)

    def _write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.discard()
            raise UploadRejected(413, f"the upload is larger than {self.max_bytes} bytes")
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self._digest.update(chunk)
        try:
            self.handle.write(chunk)
        except OSError as exc:
            self.discard()
            raise _disk_error(exc) from exc
        if self.size >= self._next_free_check:
            self._next_free_check = self.size + FREE_SPACE_CHECK_BYTES
            try:
                _check_free(self.storage, self.min_free)
            except UploadRejected:
                self.discard()
                raise

    def finish(self) -> None:
        """Everything written: flush it to disk; the file is then ready to store."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as exc:
            self.discard()
            raise _disk_error(exc) from exc
        self.handle.seek(0)

    @property
    def sha256(self) -> str:  # type: ignore[override]
        return self._digest.hexdigest()

    def store(self, key: str) -> None:
        """Move under `key`: a rename within the storage directory."""
        os.replace(self.path, self.storage.local_path(key))
        self._stored = True

    def discard(self) -> None:
        if self._discarded:
            return
        self._discarded = True
        with contextlib.suppress(OSError):
            self.handle.close()
        if not self._stored:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _check_free(storage: StorageService, min_free: int, coming: int = 0) -> None:
    """507 when free space (less `coming` bytes still to be written) is under min_free."""
    if (min_free or coming) and storage.free_bytes() - coming < min_free:
        raise UploadRejected(507, "the server is low on disk space; try again later")


def check_room_for(storage: StorageService, length: int | None, min_free: int) -> None:
    """Before reading a body of known length: will it fit above MIN_FREE_BYTES?"""
    _check_free(storage, min_free, length or 0)


def _disk_error(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return UploadRejected(507, "the server's disk is full; try again later")
    return exc
