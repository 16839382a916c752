"""A small HTTP client of the public API, for the CLI (and anything else in Python).

It speaks only the documented routes, so it works against any deployment. API errors
become `ApiError` carrying the server's `detail`; a server that does not answer becomes
`ApiUnreachable` naming the URL, which is the first thing a user needs to check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT = httpx.Timeout(30.0)
# The server copies and checks a large upload before it answers.
UPLOAD_TIMEOUT = httpx.Timeout(30.0, read=600.0)
CHUNK_BYTES = 1 << 16
MP4_MAGIC = b"ftyp"


class CliError(Exception):
    """An error the CLI reports in one line and turns into its exit code."""

    exit_code = 1


class ApiError(CliError):
    """The API answered with an error status; `detail` is its explanation."""

    def __init__(self, status_code: int, detail: Any) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"HTTP {status_code}: {describe_detail(detail)}")


class ApiUnreachable(CliError):
    exit_code = 3


def check_mp4(path: Path) -> None:
    """Refuse a file the API would refuse anyway (bytes 4..8 are not `ftyp`), before
    uploading what may be gigabytes."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise CliError(f"{path} is empty")
    if head[4:8] != MP4_MAGIC:
        raise CliError(f"{path} is not an MP4 (no 'ftyp' box at byte 4); nothing was uploaded")


def describe_detail(detail: Any) -> str:
    """FastAPI's 422 detail is a list of {loc, msg}; everything else is a string."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc", []))
                parts.append(f"{where}: {item.get('msg', item)}" if where else str(item))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


class ProgressFile:
    """A binary file that reports each read, so an upload can drive a progress bar.

    httpx streams a multipart file part by calling `read` in 64 KiB chunks and sizes the
    request from `fileno`; both pass through, so the file is never read whole."""

    def __init__(self, handle: BinaryIO, on_read: Callable[[int], None]) -> None:
        self._handle = handle
        self._on_read = on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._on_read(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


class ApiClient:
    def __init__(
        self, url: str, api_key: str | None = None, http: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {"X-API-Key": api_key} if api_key else {}
        # A client passed in (tests, embedding) keeps the timeouts its owner chose.
        self._own_timeouts = http is None
        self.http = http or httpx.Client(base_url=self.url, timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, headers=self.headers, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiUnreachable(f"the API is not reachable at {self.url} ({exc})") from exc
        except httpx.TransportError as exc:
            raise ApiUnreachable(f"the connection to the API at {self.url} failed ({exc})") from exc
        if response.status_code >= 400:
            self._raise_for(response)
        return response

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        try:
            detail = response.json().get("detail", response.text)
        except (ValueError, AttributeError):
            detail = response.text or response.reason_phrase
        raise ApiError(response.status_code, detail)

    def submit(
        self,
        path: Path,
        pipeline_id: str | None = None,
        on_read: Callable[[int], None] = lambda _n: None,
        fields: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Upload `path`; `fields` are the other form fields (options, tag)."""
        data = dict(fields or {})
        if pipeline_id:
            data["pipeline_id"] = pipeline_id
        with path.open("rb") as handle:
            files = {"file": (path.name, ProgressFile(handle, on_read), "video/mp4")}
            extra = {"timeout": UPLOAD_TIMEOUT} if self._own_timeouts else {}
            response = self.request("POST", "/video/submit", files=files, data=data, **extra)
        return response.json()

    def status(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/video/status/{job_id}").json()

    def results(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/video/results/{job_id}").json()

    def pipelines(self) -> list[dict[str, Any]]:
        return self.request("GET", "/video/pipelines").json()

    def jobs(
        self,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        tag: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        if tag:
            params["tag"] = tag
        return self.request("GET", "/video/jobs", params=params).json()

    def summary(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/video/jobs/{job_id}/summary").json()

    def download(self, path: str, target: Path, on_read: Callable[[int], None]) -> int:
        """Stream GET `path` into `target` (written whole or not at all); returns bytes."""
        partial = target.with_name(f".{target.name}.part")
        written = 0
        try:
            with self.http.stream("GET", path, headers=self.headers) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise_for(response)
                with partial.open("wb") as handle:
                    for chunk in response.iter_bytes(CHUNK_BYTES):
                        handle.write(chunk)
                        written += len(chunk)
                        on_read(len(chunk))
            os.replace(partial, target)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiUnreachable(f"the API is not reachable at {self.url} ({exc})") from exc
        except httpx.TransportError as exc:
            raise ApiUnreachable(f"the connection to the API at {self.url} failed ({exc})") from exc
        finally:
            partial.unlink(missing_ok=True)
        return written
