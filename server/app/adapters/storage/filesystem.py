"""StorageService on the local filesystem under `<DATA_DIR>/video_jobs`.

Every write goes to a temporary file in the same directory and is renamed into place,
so a reader never sees half a file and a failed write leaves nothing behind. A file
written in pieces (a job's results and exports) stops, and is removed, when free space
falls under `min_free_bytes` (VIDEO_JOBS_MIN_FREE_BYTES): checked at its first write
and after every FREE_SPACE_CHECK_BYTES.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from app.domain.errors import (
    InsufficientStorage,
    JobFileLost,
    StoragePathError,
    UploadTooLarge,
)
from app.domain.ports import (
    FREE_SPACE_CHECK_BYTES,
    FileWrite,
    StorageService,
    low_disk_message,
)

PART_SUFFIX = ".part"


class FilesystemStorage(StorageService):
    def __init__(self, root: Path, data_dir: Path | None = None, min_free_bytes: int = 0) -> None:
        self.root = Path(root).resolve()
        self.min_free_bytes = min_free_bytes
        self.data_dir = Path(data_dir).resolve() if data_dir else self.root.parent
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key in (".", "..") or "\0" in key:
            raise StoragePathError(f"invalid storage key {key!r}")
        path = (self.root / key).resolve()
        if path.parent != self.root:
            raise StoragePathError(f"storage key {key!r} escapes the storage directory")
        return path

    def save_file(self, key: str, chunks: Iterable[bytes], max_bytes: int | None = None) -> int:
        target = self._path(key)
        fd, tmp_name = tempfile.mkstemp(
            dir=self.root, prefix=f".{target.name}.", suffix=PART_SUFFIX
        )
        written = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    written += len(chunk)
                    if max_bytes is not None and written > max_bytes:
                        raise UploadTooLarge(f"the upload is larger than {max_bytes} bytes")
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except OSError as exc:
            _unlink_quietly(tmp_name)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage("the server's disk is full; try again later") from exc
            raise
        except BaseException:
            _unlink_quietly(tmp_name)
            raise
        return written

    def open_write(self, key: str) -> FileWrite:
        return _PartFileWrite(self.root, self._path(key), self.check_free_space)

    def load_file(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def open_file(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete_file(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> str:
        return str(self._path(key))

    def relative_path(self, key: str) -> str:
        return self._path(key).relative_to(self.data_dir).as_posix()

    def free_bytes(self) -> int:
        return _free_bytes(self.root)

    def check_free_space(self) -> None:
        if self.min_free_bytes and _free_bytes(self.root) < self.min_free_bytes:
            raise InsufficientStorage(low_disk_message(self.min_free_bytes))

    def keys_older_than(self, suffix: str, older_than_s: float) -> list[str]:
        cutoff = time.time() - older_than_s
        keys = []
        for path in self.root.glob(f"[!.]*{suffix}"):
            try:
                if path.stat().st_mtime < cutoff:
                    keys.append(path.name)
            except FileNotFoundError:
                continue
        return keys

    def remove_abandoned_writes(self, is_abandoned: Callable[[str, float], bool]) -> int:
        """The caller decides from the name and the idle time (who owns the write, and
        whether that writer is alive); the file is seen before the question is asked."""
        now = time.time()
        removed = 0
        for path in self.root.glob(f".*{PART_SUFFIX}"):
            try:
                if is_abandoned(path.name, now - path.stat().st_mtime):
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class _PartFileWrite(FileWrite):
    """Written to a `.part` file beside the target (the sweep removes one a killed
    process left), renamed into place by `commit`; a full disk, or free space under the
    floor (`check_free_space`, at the first write and every FREE_SPACE_CHECK_BYTES),
    removes it at once."""

    def __init__(self, root: Path, target: Path, check_free_space: Callable[[], None]) -> None:
        self.target = target
        self._check_free_space = check_free_space
        self._unchecked: int | None = None  # bytes written since the last check
        self._seen_size = 0  # what `grew` last saw of a file another writer fills
        fd, self.tmp_name = tempfile.mkstemp(
            dir=root, prefix=f".{target.name}.", suffix=PART_SUFFIX
        )
        self._handle = os.fdopen(fd, "wb")
        self._committed = False

    @property
    def path(self) -> str:
        return self.tmp_name

    def write(self, data: bytes) -> None:
        self._count(len(data))
        try:
            self._handle.write(data)
        except OSError as exc:
            self._failed(exc)

    def grew(self) -> None:
        try:
            size = os.stat(self.tmp_name).st_size
        except FileNotFoundError as exc:
            self.discard()
            raise JobFileLost(self.target.name) from exc
        self._count(size - self._seen_size)
        self._seen_size = size

    def _count(self, grown: int) -> None:
        """Check the free-space floor at the first write and every
        FREE_SPACE_CHECK_BYTES after it; under it, the file is removed."""
        if self._unchecked is None or self._unchecked >= FREE_SPACE_CHECK_BYTES:
            self._unchecked = 0
            try:
                self._check_free_space()
            except InsufficientStorage:
                self.discard()
                raise
        self._unchecked += grown

    def commit(self) -> None:
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            os.replace(self.tmp_name, self.target)
        except OSError as exc:
            self._failed(exc)
        self._committed = True

    def _failed(self, exc: OSError) -> None:
        self.discard()
        if isinstance(exc, FileNotFoundError):
            raise JobFileLost(self.target.name) from exc
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the server's disk is full; try again later") from exc
        raise exc

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()  # a full disk can fail the final flush: still close it
        _unlink_quietly(self.tmp_name)
        if self._committed:
            _unlink_quietly(str(self.target))


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _unlink_quietly(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)
