"""`make run` (app.run) when its ports are taken: one clear line naming the port and the
setting that moves it, exit code 1, no traceback and no process started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.run import port_taken
from app.testing.processes import free_port

pytestmark = pytest.mark.integration


def _listening(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def _run(tmp_path: Path, api_port: int, queue_port: int) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "VIDEO_JOBS_DATA_DIR": str(tmp_path / "data"),
        "VIDEO_JOBS_API_PORT": str(api_port),
        "VIDEO_JOBS_QUEUE_PORT": str(queue_port),
    }
    env.pop("VIDEO_JOBS_QUEUE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_run_on_a_taken_api_port_says_so_in_one_line(tmp_path):
    port = free_port()
    with _listening(port):
        done = _run(tmp_path, port, free_port())
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in lines[0]
    assert f"VIDEO_JOBS_API_PORT={port + 1} make run" in lines[0]


def test_a_taken_queue_port_names_its_setting(tmp_path):
    queue_port = free_port()
    with _listening(queue_port):
        done = _run(tmp_path, free_port(), queue_port)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"VIDEO_JOBS_QUEUE_PORT={queue_port + 1}" in done.stderr


def test_a_free_port_is_not_taken_and_a_listening_one_is():
    port = free_port()
    assert not port_taken("127.0.0.1", port)
    with _listening(port):
        assert port_taken("127.0.0.1", port)
