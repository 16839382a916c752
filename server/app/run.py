"""`make run`: the API (uvicorn, one process) and one worker, stopped together by Ctrl-C.

The worker is restarted if it dies, so a crash in a decoder never leaves the service
without one. The API migrates the database at start; the worker waits for that.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import subprocess
import sys
import time

from app.settings import Settings, get_settings

log = logging.getLogger("app.run")
STOP_TIMEOUT_S = 30
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def api_command(host: str, port: int, settings: Settings) -> list[str]:
    """uvicorn for the API, with the connection limits of docs/failure-model.md: at most
    VIDEO_JOBS_HTTP_LIMIT_CONCURRENCY connections (503 beyond), idle keep-alive closed
    after VIDEO_JOBS_HTTP_KEEP_ALIVE_S, and header/body read timeouts (slow_clients.py)."""
    return [
        *(sys.executable, "-m", "uvicorn", "app.api.main:app"),
        *("--host", host, "--port", str(port), "--timeout-graceful-shutdown", "10"),
        *("--http", "app.api.slow_clients:SlowClientH11Protocol"),
        *("--limit-concurrency", str(settings.http_limit_concurrency)),
        *("--timeout-keep-alive", str(settings.http_keep_alive_s)),
    ]


def _spawn_api(host: str, port: int, settings: Settings) -> subprocess.Popen:
    return subprocess.Popen(api_command(host, port, settings))


def _spawn_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.workers.worker_runner"])


def port_taken(host: str, port: int) -> bool:
    """True when something already listens on host:port (bound the way uvicorn binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def ports_in_use(host: str, port: int, settings: Settings) -> str | None:
    """One sentence naming the port that is taken and the setting that moves it, checked
    before anything starts, so a second `make run` says so instead of a traceback."""
    if port_taken(host, port):
        return (
            f"port {port} on {host} is in use (another `make run`?); run on another port "
            f"with VIDEO_JOBS_API_PORT={port + 1} make run"
        )
    queue = settings.queue_host, settings.queue_port
    if not settings.queue_url and port_taken(*queue):
        return (
            f"the job queue's port {queue[1]} on {queue[0]} is in use (another `make run`?); "
            f"a second instance also needs VIDEO_JOBS_QUEUE_PORT={queue[1] + 1}"
        )
    return None


def stop_processes(processes: list[subprocess.Popen], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM each, wait up to `timeout` in all, then SIGKILL whatever is left."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stopping = False

    def request_stop(signum: int, _frame) -> None:
        nonlocal stopping
        stopping = True

    if (taken := ports_in_use(args.host, args.port, settings)) is not None:
        log.error("%s", taken)
        return 1
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    api = _spawn_api(args.host, args.port, settings)
    worker = _spawn_worker()
    log.info(
        "API on http://%s:%d (pid %d), worker pid %d", args.host, args.port, api.pid, worker.pid
    )
    exit_code = 0
    while not stopping:
        time.sleep(0.2)
        if api.poll() is not None:
            log.error("the API exited with code %s; stopping", api.returncode)
            exit_code = api.returncode or 1
            break
        if worker.poll() is not None:
            log.warning("the worker exited with code %s; starting a new one", worker.returncode)
            time.sleep(1)
            worker = _spawn_worker()
    stop_processes([worker, api])
    log.info("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
