"""The submit body, parsed as it arrives (python-multipart's push parser).

Starlette's own parser keeps parts under 1 MB in memory (1000 of them is a gigabyte) and
spools files to the system temp dir (a second copy, invisible to MIN_FREE_BYTES, and a
full temp dir became "error parsing the body"). Here the one `file` part is written
straight to `<DATA_DIR>/video_jobs/.upload-*.part` (StagedFile), which the submit
service renames to `<job_id>.mp4`; every other field is capped at FIELD_MAX_BYTES.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request, Response
from fastapi.routing import APIRoute
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.exceptions import HTTPException

from app.api.staging import StagedFile, UploadRejected, check_room_for
from app.domain.ports import StorageService

log = logging.getLogger(__name__)

FILE_FIELD = "file"
FIELD_MAX_BYTES = 64 * 1024
MAX_FIELDS = 32
# Names echoed in messages are cut to this: a client never gets a megabyte back.
ECHO_CHARS = 64


class StagedUploadFile(UploadFile):
    """The `file` part as FastAPI sees it (an UploadFile), backed by the staged file.
    FastAPI closes the form after the request: a file not stored by then is removed."""

    def __init__(self, staged: StagedFile, filename: str | None, headers: Headers) -> None:
        super().__init__(staged.handle, size=staged.size, filename=filename, headers=headers)
        self.staged = staged

    async def close(self) -> None:
        await run_in_threadpool(self.staged.discard)


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    filename: str | None = None
    data: bytearray | None = None  # a small field's value
    staged: StagedFile | None = None  # the `file` part
    skipped: bool = False  # a file part we do not keep


@dataclass
class UploadTarget:
    """Where and how the file part is written."""

    storage: StorageService
    directory: Path  # the storage's directory: a rename moves the file into place
    max_bytes: int
    min_free_bytes: int


class SubmitBodyParser:
    """multipart/form-data -> FormData of str fields and one StagedUploadFile."""

    def __init__(self, headers: Headers, target: UploadTarget) -> None:
        self.headers = headers
        self.target = target
        self.items: list[tuple[str, str | UploadFile]] = []
        self.part = _Part()
        self.file_parts = 0
        self.fields = 0
        self.staged: StagedFile | None = None
        self.pending: list[bytes] = []
        self._name = b""
        self._value = b""
        self._charset = "utf-8"

    async def parse(self, stream: AsyncIterator[bytes]) -> FormData:
        _kind, params = parse_options_header(self.headers.get("content-type", ""))
        self._charset = _charset(params.get(b"charset"))
        boundary = params.get(b"boundary")
        if not boundary:
            raise UploadRejected(400, "the multipart body has no boundary")
        callbacks = {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }
        try:
            parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
            async for chunk in stream:
                parser.write(chunk)
                await self._flush()
            parser.finalize()
            await self._flush()
            if self.staged is not None:
                await run_in_threadpool(self.staged.finish)
                for _name, value in self.items:
                    if isinstance(value, StagedUploadFile):
                        value.size = value.staged.size
        except MultipartParseError as exc:
            self.discard()
            raise UploadRejected(400, f"the multipart body is malformed: {exc}") from exc
        except BaseException:
            self.discard()
            raise
        return FormData(self.items)

    async def _flush(self) -> None:
        """Write what the last chunk carried of the file part, off the event loop."""
        if self.pending and self.staged is not None:
            chunks, self.pending = self.pending, []
            await run_in_threadpool(self.staged.write_all, chunks)

    def discard(self) -> None:
        """Remove the staged file unless the service stored it."""
        if self.staged is not None:
            self.staged.discard()

    # -- python-multipart callbacks (synchronous, in the event loop: no I/O here) ----
    def _part_begin(self) -> None:
        self.part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self.part.headers.append((self._name.lower(), self._value))
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        part = self.part
        disposition = dict(part.headers).get(b"content-disposition", b"")
        _kind, options = parse_options_header(disposition)
        if b"name" not in options:
            raise UploadRejected(400, "a multipart part has no name in Content-Disposition")
        part.name = _decode(options[b"name"], self._charset)
        if b"filename" in options:
            part.filename = _decode(options[b"filename"], self._charset)
        if part.name == FILE_FIELD or part.filename is not None:
            self._start_file(part)
            return
        self.fields += 1
        if self.fields > MAX_FIELDS:
            raise UploadRejected(400, f"a submit takes at most {MAX_FIELDS} form fields")
        part.data = bytearray()

    def _start_file(self, part: _Part) -> None:
        self.file_parts += 1
        if self.file_parts > 1:
            raise UploadRejected(
                400, f"a submit takes exactly one file part, named {FILE_FIELD!r}; this has more"
            )
        if part.name != FILE_FIELD:  # no `file` part then: FastAPI answers 422
            part.skipped = True
            return
        target = self.target
        self.staged = StagedFile.open(
            target.storage, target.directory, target.max_bytes, target.min_free_bytes
        )
        part.staged = self.staged

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part.staged is not None:
            self.pending.append(data[start:end])
        elif part.data is not None:
            if len(part.data) + (end - start) > FIELD_MAX_BYTES:
                raise UploadRejected(
                    413,
                    f"the form field {part.name[:ECHO_CHARS]!r} is over the limit of "
                    f"{FIELD_MAX_BYTES} bytes",
                )
            part.data += data[start:end]

    def _part_end(self) -> None:
        part = self.part
        if part.staged is not None:
            headers = Headers(raw=part.headers)
            self.items.append((part.name, StagedUploadFile(part.staged, part.filename, headers)))
        elif part.data is not None:
            self.items.append((part.name, _decode(bytes(part.data), self._charset)))


def _charset(raw: bytes | str | None) -> str:
    name = raw.decode("latin-1") if isinstance(raw, bytes) else (raw or "utf-8")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "latin-1"


def _decode(value: bytes, charset: str) -> str:
    try:
        return value.decode(charset)
    except UnicodeDecodeError:
        return value.decode("latin-1")


class SubmitRequest(Request):
    """FastAPI reads File/Form parameters through `request.form()`: here that is the
    SubmitBodyParser, writing the file part into DATA_DIR as it arrives."""

    def form(self, **_starlette_limits):
        return self._submit_form()

    async def _submit_form(self) -> FormData:
        if self._form is None:
            try:
                self._form = await self._parse()
            except UploadRejected as exc:
                # The body is not read to its end: the connection cannot be reused.
                headers = {"Connection": "close"}
                raise HTTPException(exc.status_code, exc.detail, headers=headers) from exc
        return self._form

    def discard_unstored(self) -> None:
        """The request is answered: an upload the service did not store is removed now,
        before the answer goes out (not whenever FastAPI closes the form)."""
        parser = getattr(self, "_parser", None)
        if parser is not None:
            parser.discard()

    async def _parse(self) -> FormData:
        kind, _params = parse_options_header(self.headers.get("content-type", ""))
        if kind != b"multipart/form-data":
            return FormData()  # no `file` part: FastAPI answers 422, the body is not read
        settings, storage = self.app.state.settings, self.app.state.storage
        length = self.headers.get("content-length", "")
        check_room_for(storage, int(length) if length.isdigit() else None, settings.min_free_bytes)
        target = UploadTarget(
            storage, settings.storage_dir, settings.max_upload_bytes, settings.min_free_bytes
        )
        self._parser = SubmitBodyParser(self.headers, target)
        return await self._parser.parse(self.stream())


class SubmitRoute(APIRoute):
    """The submit route's class: its handler sees a SubmitRequest (FastAPI's documented
    way to change how a route reads its body)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def submit_handler(request: Request) -> Response:
            submit_request = SubmitRequest(request.scope, request.receive)
            try:
                return await handler(submit_request)
            finally:
                submit_request.discard_unstored()

        return submit_handler
