"""Helpers for the read-side attack tests against real processes: memory sampling,
the API started as `make run` starts it, a big stored results document, receivers."""

from __future__ import annotations

import http.server
import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

from app.testing.processes import Services

# "It answered" on a loaded 2-core machine: a request that waits for the work it should
# never wait for takes far longer (the attacks: 6.9 s to 51.6 s idle, minutes loaded).
# How fast it answers is measured by `make bench`, never asserted by a test.
ANSWER_BOUND_S = 30.0


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


class PeakSampler:
    """Samples a process's RSS every 20 ms in a thread; `peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = rss_bytes(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


class HealthProbe:
    """Polls /health in a thread with its own connection; records each latency."""

    def __init__(self, services: Services) -> None:
        import httpx

        self.client = httpx.Client(base_url=str(services.client.base_url), timeout=60)
        self.latencies: list[float] = []
        self.codes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import httpx

        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.codes.append(self.client.get("/health").status_code)
            except httpx.TransportError:
                self.codes.append(0)  # no answer within the client's timeout
            self.latencies.append(time.monotonic() - started)
            self._stop.wait(0.1)

    def assert_answered(self) -> None:
        """/health answered 200 every time it was asked, each within ANSWER_BOUND_S."""
        assert self.codes and set(self.codes) == {200}, self.codes
        assert max(self.latencies) < ANSWER_BOUND_S, self.latencies

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()


DETECTION = '{"label":"motion","bbox":[10,20,30,40],"confidence":0.75}'
ITEM = (
    '{{"frame_index":{i},"timestamp_ms":{t},"result":{{"detections":[{d}],"motion_ratio":0.0123}}}}'
)


def write_big_results(
    storage_dir: Path, job_id: str, video: dict, frames: int, detections: int = 1
) -> int:
    """Replace a completed job's stored results with `frames` items of `detections`
    boxes each (document, .jsonl and .idx, laid out as the worker writes them); returns
    the document's size."""
    offsets = bytearray()
    position = 0
    boxes = ",".join([DETECTION] * detections)
    with open(storage_dir / f"{job_id}_results.jsonl", "wb") as lines:
        for i in range(frames):
            line = ITEM.format(i=i, t=i * 40, d=boxes).encode() + b"\n"
            offsets += struct.pack("<Q", position)
            position += len(line)
            lines.write(line)
    (storage_dir / f"{job_id}_results.idx").write_bytes(bytes(offsets))
    head = {"job_id": job_id, "pipeline_id": "motion", "video": video, "warnings": []}
    document = storage_dir / f"{job_id}_results.json"
    with open(document, "wb") as out, open(storage_dir / f"{job_id}_results.jsonl", "rb") as src:
        out.write(json.dumps(head).encode()[:-1] + b',"results":[')
        first = True
        for line in src:
            out.write((b"" if first else b",") + line.rstrip(b"\n"))
            first = False
        out.write(b"]}")
    return document.stat().st_size


class Receiver:
    """A webhook receiver on loopback that records when each event arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.arrivals.append((time.monotonic(), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DeadReceiver:
    """Accepts connections and never answers: every delivery waits for its timeout."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for conn in self.held:
            conn.close()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
