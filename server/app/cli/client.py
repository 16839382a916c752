"""A small HTTP client of the public API, for the CLI (and anything else in Python).

It speaks only the documented routes, so it works against any deployment. API errors
become `ApiError` carrying the server's `detail`; a server that does not answer becomes
`ApiUnreachable` naming the URL, which is the first thing a user needs to check.
Nothing a server sends is trusted to be small: a JSON answer is read up to a bound
(counted after decompression, so a gzip bomb stops there too), and a download asks for
the file as it is (no content encoding), so what lands on disk is what was sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import httpx

TIMEOUT = httpx.Timeout(30.0)
# The server copies and checks a large upload before it answers.
UPLOAD_TIMEOUT = httpx.Timeout(30.0, read=600.0)
CHUNK_BYTES = 1 << 16
MP4_MAGIC = b"ftyp"
# A status, list or submit answer is a few KiB; a results document or a summary grows
# with the video (a frame's item is ~150 bytes: 4 hours at 30 fps is ~65 MiB).
MAX_ANSWER_BYTES = 8 << 20
MAX_DOCUMENT_BYTES = 256 << 20
LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def default_url(environ: Mapping[str, str] = os.environ) -> str:
    """VIDEO_JOBS_URL, else the address `make run` serves on: VIDEO_JOBS_API_HOST and
    VIDEO_JOBS_API_PORT (127.0.0.1:8000 by default; a wildcard host is reached on
    loopback), so a server moved to another port is found without a second variable."""
    if url := environ.get("VIDEO_JOBS_URL"):
        return url
    host = environ.get("VIDEO_JOBS_API_HOST", "127.0.0.1").strip()
    host = LOOPBACK_FOR.get(host, host)
    port = environ.get("VIDEO_JOBS_API_PORT", "8000").strip() or "8000"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


class AnswerTooLarge(CliError):
    """The server sent more than the CLI will read for this kind of answer."""


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
        self,
        url: str,
        api_key: str | None = None,
        http: httpx.Client | None = None,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.max_answer_bytes = max_answer_bytes
        self.max_document_bytes = max_document_bytes
        # A client passed in (tests, embedding) keeps the timeouts its owner chose.
        self._own_timeouts = http is None
        self.http = http or httpx.Client(base_url=self.url, timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, limit: int | None = None, **kwargs: Any) -> Any:
        """The JSON answer, read up to `limit` bytes (MAX_ANSWER_BYTES unless given)."""
        limit = limit or self.max_answer_bytes
        try:
            with self.http.stream(method, path, headers=self.headers, **kwargs) as response:
                body = _read_bounded(response, limit, f"{method} {path}")
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail_of(body, response))
        try:
            return json.loads(body)
        except ValueError as exc:
            raise CliError(
                f"the answer to {method} {path} is not JSON (is {self.url} the video job API?)"
            ) from exc

    def _unreachable(self, exc: httpx.TransportError) -> ApiUnreachable:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return ApiUnreachable(f"the API is not reachable at {self.url} ({exc})")
        return ApiUnreachable(f"the connection to the API at {self.url} failed ({exc})")

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
            extra: dict[str, Any] = {"timeout": UPLOAD_TIMEOUT} if self._own_timeouts else {}
            return self.request("POST", "/video/submit", files=files, data=data, **extra)

    def status(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/video/status/{job_id}")

    def results(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/video/results/{job_id}", limit=self.max_document_bytes)

    def pipelines(self) -> list[dict[str, Any]]:
        return self.request("GET", "/video/pipelines")

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
        return self.request("GET", "/video/jobs", params=params)

    def summary(self, job_id: str) -> dict[str, Any]:
        path = f"/video/jobs/{job_id}/summary"
        return self.request("GET", path, limit=self.max_document_bytes)

    def download(self, path: str, target: Path, on_read: Callable[[int], None]) -> int:
        """Stream GET `path` into `target` (written whole or not at all); returns bytes.
        The file is asked for without content encoding and written as it arrives."""
        partial = target.with_name(f".{target.name}.part")
        written = 0
        headers = {**self.headers, "Accept-Encoding": "identity"}
        try:
            with self.http.stream("GET", path, headers=headers) as response:
                if response.status_code >= 400:
                    body = _read_bounded(response, self.max_answer_bytes, f"GET {path}")
                    raise ApiError(response.status_code, _detail_of(body, response))
                encoding = response.headers.get("Content-Encoding", "identity")
                if encoding.lower() != "identity":
                    raise CliError(
                        f"the answer to GET {path} is {encoding}-encoded although none was "
                        "asked for; nothing was written"
                    )
                with partial.open("wb") as handle:
                    for chunk in response.iter_bytes(CHUNK_BYTES):  # identity: as sent
                        handle.write(chunk)
                        written += len(chunk)
                        on_read(len(chunk))
            os.replace(partial, target)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        except OSError as exc:
            raise CliError(f"could not write {target}: {exc.strerror or exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        return written


def _read_bounded(response: httpx.Response, limit: int, what: str) -> bytes:
    """The decoded body, or AnswerTooLarge once it passes `limit` (a declared length
    over it is refused before anything is read)."""
    declared = response.headers.get("Content-Length", "")
    too_large = AnswerTooLarge(
        f"the answer to {what} is larger than {limit} bytes; the CLI stops reading there"
    )
    if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
        raise too_large
    parts, size = [], 0
    for chunk in response.iter_bytes(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def _detail_of(body: bytes, response: httpx.Response) -> Any:
    try:
        document = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace") or response.reason_phrase
    if isinstance(document, dict) and "detail" in document:
        return document["detail"]
    return body.decode("utf-8", "replace")
