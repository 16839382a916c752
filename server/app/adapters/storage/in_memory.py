"""An in-memory StorageService for unit tests; it passes the storage contract suite."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from typing import BinaryIO

from app.domain.errors import StoragePathError, UploadTooLarge
from app.domain.ports import StorageService


class InMemoryStorage(StorageService):
    def __init__(self, prefix: str = "video_jobs") -> None:
        self.prefix = prefix
        self.files: dict[str, bytes] = {}
        self.free_space = 1 << 40
        self._lock = threading.Lock()

    @staticmethod
    def _check(key: str) -> str:
        if not key or "/" in key or "\\" in key or key in (".", "..") or "\0" in key:
            raise StoragePathError(f"invalid storage key {key!r}")
        return key

    def save_file(self, key: str, chunks: Iterable[bytes], max_bytes: int | None = None) -> int:
        self._check(key)
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise UploadTooLarge(f"the upload is larger than {max_bytes} bytes")
            parts.append(chunk)
        with self._lock:
            self.files[key] = b"".join(parts)
        return size

    def load_file(self, key: str) -> bytes:
        with self._lock:
            try:
                return self.files[self._check(key)]
            except KeyError:
                raise FileNotFoundError(key) from None

    def open_file(self, key: str) -> BinaryIO:
        return io.BytesIO(self.load_file(key))

    def free_bytes(self) -> int:
        return self.free_space

    def delete_file(self, key: str) -> bool:
        with self._lock:
            return self.files.pop(self._check(key), None) is not None

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._check(key) in self.files

    def local_path(self, key: str) -> str:
        return f"memory://{self.prefix}/{self._check(key)}"

    def relative_path(self, key: str) -> str:
        return f"{self.prefix}/{self._check(key)}"
