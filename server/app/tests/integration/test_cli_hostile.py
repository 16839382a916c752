"""The CLI against a hostile API: a tiny HTTP server on a free loopback port that sends
terminal escape sequences in its strings, a gzip bomb, an endless answer and a file
larger than the disk will take. The CLI shows clean text, stops reading at its bounds,
and says what went wrong in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.cli.client import AnswerTooLarge, ApiClient
from app.cli.main import main

pytestmark = pytest.mark.integration

JOB_ID = "cf551998-3de8-4b61-a905-fb9ee68678b6"
NASTY = "\x1b]0;pwned\x07\x1b[2J\x1b[31mboom\x9b2J\x1b]8;;http://x\x1b\\\\link\nnext"
ZEROS_MIB = 64  # decompressed size of the bomb; the status bound is 8 MiB


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(ZEROS_MIB)) + packer.flush()


class HostileApi(BaseHTTPRequestHandler):
    bomb = b""
    endless_bytes_sent = 0

    def log_message(self, *_args) -> None:  # quiet
        pass

    def _json(self, document: object, status: int = 200) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/video/status/00000000-0000-4000-8000-00000000b0b0":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(self.bomb)))
            self.end_headers()
            self.wfile.write(self.bomb)
        elif path.startswith("/video/status/"):
            self._json({"job_id": JOB_ID, "status": "failed", "error_message": NASTY})
        elif path == "/video/jobs":
            job = {
                "job_id": JOB_ID,
                "status": "failed",
                "pipeline_id": "motion\x1b[2J",
                "created_at": "2026-12-02T10:00:00+00:00",
                "filename": NASTY,
                "tag": None,
                "error_message": NASTY,
            }
            self._json({"jobs": [job], "total": 1})
        elif path == "/video/pipelines":
            self._json([{"id": "motion", "description": NASTY}])
        elif path.startswith("/video/results/"):
            self._endless()
        elif path.endswith("/detections.csv"):
            body = b"frame_index,label\n" + b"1,person\n" * 200_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._json({"detail": NASTY}, 404)

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # no length: HTTP/1.0, the answer ends when the server closes
        chunk = b"[" + b"0," * (1 << 15)
        try:
            while True:
                self.wfile.write(chunk)
                type(self).endless_bytes_sent += len(chunk)
        except OSError:
            return


@pytest.fixture(scope="module")
def hostile_url() -> Iterator[str]:
    HostileApi.bomb = _gzip_bomb()
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileApi)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


@pytest.mark.parametrize(
    "argv",
    [["wait", JOB_ID], ["status", JOB_ID], ["jobs"], ["pipelines"], ["summary", JOB_ID]],
)
def test_escape_sequences_from_the_server_never_reach_the_terminal(hostile_url, argv, capsys):
    main(["--url", hostile_url, *argv])
    out, err = capsys.readouterr()
    assert _controls(out) == [] and _controls(err) == []
    if argv[0] != "status":  # JSON keeps the text, every control character escaped
        assert "pwned" not in out + err  # the window title went with its sequence


def test_the_text_of_an_error_is_kept_on_one_line(hostile_url, capsys):
    assert main(["--url", hostile_url, "wait", JOB_ID]) == 1
    err = capsys.readouterr().err
    assert "boom" in err and "link next" in err


def test_a_gzip_bomb_is_read_only_up_to_the_bound(hostile_url, capsys):
    code = main(["--url", hostile_url, "status", "00000000-0000-4000-8000-00000000b0b0"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "is larger than 8388608 bytes; the CLI stops reading there" in err
    assert len(err.splitlines()) == 1


def test_an_endless_results_answer_stops_at_the_bound(hostile_url):
    client = ApiClient(hostile_url, max_document_bytes=1 << 20)
    try:
        with pytest.raises(AnswerTooLarge, match="larger than 1048576 bytes"):
            client.results(JOB_ID)
    finally:
        client.close()
    assert HostileApi.endless_bytes_sent < 64 << 20  # the client hung up, not read on


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(hostile_url, tmp_path):
    """The CLI runs with a file-size limit of 64 KiB (SIGXFSZ ignored, so a write past
    it fails with EFBIG the way a full disk fails with ENOSPC)."""
    target = tmp_path / "detections.csv"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
        "from app.cli.main import main\n"
        f"sys.exit(main(['--url', {hostile_url!r}, 'export', {JOB_ID!r}, '-o', {str(target)!r}]))\n"
    )
    # Not measured by coverage: its data file would be cut at the same 64 KiB limit, and
    # its own traceback would be what this test looks for.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert any(f"could not write {target}: File too large" in line for line in lines), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == []
