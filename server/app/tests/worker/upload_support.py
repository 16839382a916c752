"""Helpers for the submit-side attacks against a real API: request bodies
made chunk by chunk (a gigabyte is never in the test's memory), a raw-socket client that
stops sending as soon as the server answers, and what a process wrote (/proc)."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.testing import mp4_synth

MIB = 1 << 20
BLOCK = bytes(range(256)) * 4096  # 1 MiB of filler


def valid_mp4_head() -> bytes:
    """ftyp + moov of a 320x240, 25-frame, 1-s video: what the header check accepts."""
    return mp4_synth.ftyp() + mp4_synth.box("moov", mp4_synth.mvhd(), mp4_synth.video_trak())


def filler(size: int) -> Iterator[bytes]:
    while size > 0:
        piece = BLOCK[: min(size, len(BLOCK))]
        size -= len(piece)
        yield piece


def mdat(size: int) -> Iterator[bytes]:
    """An mdat box of `size` payload bytes (64-bit size form), produced in pieces."""
    yield b"\x00\x00\x00\x01mdat" + (16 + size).to_bytes(8, "big")
    yield from filler(size)


def file_part(boundary: str, name: str, filename: str | None, data: Iterable[bytes]):
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    yield f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    yield from data
    yield b"\r\n"


def closing(boundary: str) -> bytes:
    return f"--{boundary}--\r\n".encode()


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Transfer-Encoding: chunked framing (no Content-Length: the server must count)."""
    for piece in pieces:
        if piece:
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


@dataclass
class RawResponse:
    status: int
    body: bytes
    sent: int  # body bytes the client got to send before the answer

    def json(self) -> dict:
        return json.loads(self.body)


def send_until_answered(
    port: int,
    path: str,
    headers: dict[str, str],
    body: Iterable[bytes],
    timeout: float = 300,
) -> RawResponse:
    """POST `body` piece by piece, stopping as soon as the server answers (or closes):
    a server that answers before reading the body is seen doing so."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    pieces = iter(body)
    pending, sent, received, sending = head.encode(), -len(head), b"", True
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setblocking(False)
        while time.monotonic() < deadline and not _complete(received):
            readable, writable, _ = select.select([sock], [sock] if sending else [], [], 1.0)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                received += data
                sending = False
            elif writable:
                if not pending:
                    pending = next(pieces, b"")
                    if not pending:
                        sending = False
                        continue
                try:
                    count = sock.send(pending[:262144])
                except (BrokenPipeError, ConnectionResetError):
                    sending = False
                    continue
                pending, sent = pending[count:], sent + count
    status_line, _, rest = received.partition(b"\r\n")
    if not status_line:
        raise AssertionError(f"no answer after sending {sent} body bytes")
    _headers, _, payload = rest.partition(b"\r\n\r\n")
    return RawResponse(int(status_line.split()[1]), payload, max(sent, 0))


def _complete(received: bytes) -> bool:
    head, separator, payload = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(payload) >= int(value)
    return False


def bytes_written(pid: int) -> int:
    """Bytes a process passed to write() and friends so far (/proc/<pid>/io wchar)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar for pid {pid}")


def files_under(root: Path) -> dict[str, int]:
    """Every file below root with its size (to see that nothing was written)."""
    return {
        str(path.relative_to(root)): path.stat().st_size
        for path in root.rglob("*")
        if path.is_file() and not path.name.startswith("jobs.db")
    }


@contextlib.contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    """A small tmpfs at path (a disk that can really fill up); skips without root."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
