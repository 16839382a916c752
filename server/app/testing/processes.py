"""Run the real API (uvicorn) and real workers as OS processes, for the end-to-end tests
and the benchmarks alike.

Every process gets its own temporary DATA_DIR and free ports, talks to 127.0.0.1 only
and sees none of the caller's VIDEO_JOBS_ settings but the ones given; `close()` (or
leaving the `with` block) stops whatever is still running, so nothing is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType

import httpx

from app.bootstrap import Database, build_database
from app.domain.model import Job
from app.run import api_command, stop_processes
from app.settings import Settings

TERMINAL = {"completed", "failed"}
START_TIMEOUT_S = 180.0  # generous: a loaded machine starts Python slowly


def free_port() -> int:
    """A port nobody listens on right now (bind port 0 and let the kernel choose)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceError(AssertionError):
    """A process did not start, exited when it should not have, or a job did not
    finish in time (an AssertionError, so a test reports it as a failure)."""


class Services:
    """The API plus any number of workers, sharing one DATA_DIR and one database."""

    def __init__(self, root: Path, **settings: object) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEO_JOBS_")}
        self.env.update(
            {
                "VIDEO_JOBS_DATA_DIR": str(self.data_dir),
                "VIDEO_JOBS_QUEUE_HOST": "127.0.0.1",
                "VIDEO_JOBS_QUEUE_PORT": str(self._other_port(self.api_port)),
                "VIDEO_JOBS_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env.update({f"VIDEO_JOBS_{k.upper()}": str(v) for k, v in settings.items()})
        self.processes: list[subprocess.Popen] = []
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=60)
        self._log_count = 0
        self._database: Database | None = None

    @staticmethod
    def _other_port(taken: int) -> int:
        """A free port that is not `taken`: both are chosen before either is bound, so
        the kernel may hand out the same one twice (seen: the API then failed to bind)."""
        port = free_port()
        while port == taken:
            port = free_port()
        return port

    # -- processes -----------------------------------------------------------------
    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        self._log_count += 1
        log = open(self.root / f"{name}-{self._log_count}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, *args], env=env or self.env, cwd=self.root, stdout=log, stderr=log
        )
        process.log_path = log.name  # type: ignore[attr-defined]
        log.close()
        self.processes.append(process)
        return process

    def start_api(self, wait: bool = True) -> subprocess.Popen:
        self.api = self._spawn(
            "api",
            [
                "-m",
                "uvicorn",
                "app.api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
            ],
        )
        if wait:
            self.wait_healthy()
        return self.api

    def start_api_as_make_run(self, wait: bool = True, **flags: object) -> subprocess.Popen:
        """The API with run.py's uvicorn flags (timeouts, the concurrency bound, the
        protocol), as `make run` starts it; `flags` are the settings run.py turns into
        uvicorn options."""
        settings = Settings(_env_file=None, **flags)  # type: ignore[arg-type]
        self.api = self._spawn("api", api_command("127.0.0.1", self.api_port, settings)[1:])
        if wait:
            self.wait_healthy()
        return self.api

    def start_worker(self, *args: str, **settings: object) -> subprocess.Popen:
        env = {**self.env, **{f"VIDEO_JOBS_{k.upper()}": str(v) for k, v in settings.items()}}
        worker = self._spawn("worker", ["-m", "app.workers.worker_runner", *args], env)
        self.workers.append(worker)
        return worker

    def start_workers(self, count: int, **settings: object) -> list[subprocess.Popen]:
        """`count` more workers, started side by side; returns once each has logged that
        its loop started (so a measurement does not include a worker's imports)."""
        started = [self.start_worker(**settings) for _ in range(count)]
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(started)
        while waiting and time.monotonic() < deadline:
            for worker in list(waiting):
                self._check_alive(worker)
                if f"worker-{worker.pid} started" in self.log_of(worker):
                    waiting.remove(worker)
            time.sleep(0.05)
        if waiting:
            raise ServiceError(f"{len(waiting)} worker(s) did not start in {START_TIMEOUT_S}s")
        return started

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api is not None and self.api.poll() is not None:
                raise ServiceError(f"API exited early:\n{self.log_of(self.api)}")
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise ServiceError(f"API not healthy in {timeout}s:\n{self.log_of(self.api)}")

    def _check_alive(self, process: subprocess.Popen) -> None:
        if process.poll() is not None:
            tail = self.log_of(process)[-3000:]
            raise ServiceError(f"process {process.args!s} exited ({process.returncode}):\n{tail}")

    def check_running(self) -> None:
        """Raise if the API or a worker died during a measurement."""
        for process in [p for p in (self.api, *self.workers) if p is not None]:
            self._check_alive(process)

    @staticmethod
    def log_of(process: subprocess.Popen | None) -> str:
        if process is None:
            return ""
        return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]

    def stop(
        self, process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30
    ) -> int:
        if process.poll() is None:
            process.send_signal(sig)
        return process.wait(timeout=timeout)

    def stop_api_cleanly(self) -> bool:
        """SIGTERM the API; uvicorn shuts down, then re-raises the signal (exit -15)."""
        assert self.api is not None
        code = self.stop(self.api)
        log = self.log_of(self.api)
        return code in (0, -signal.SIGTERM) and "API stopped" in log

    def kill(self, process: subprocess.Popen) -> None:
        process.kill()
        process.wait(timeout=30)

    def stop_workers(self, timeout: float = 15) -> None:
        stop_processes(self.workers, timeout)
        self.workers = []

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.client.close()
        if self._database is not None:
            self._database.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- HTTP ----------------------------------------------------------------------
    def submit(
        self, path: Path, pipeline_id: str | None = None, client: httpx.Client | None = None
    ) -> str:
        """POST /video/submit; returns the job id (ServiceError unless 200)."""
        data = {"pipeline_id": pipeline_id} if pipeline_id else {}
        with open(path, "rb") as handle:
            response = (client or self.client).post(
                "/video/submit", files={"file": (path.name, handle, "video/mp4")}, data=data
            )
        if response.status_code != 200:
            raise ServiceError(f"submit answered {response.status_code}: {response.text}")
        return str(response.json()["job_id"])

    def status(self, job_id: str) -> dict:
        response = self.client.get(f"/video/status/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, job_id: str, statuses: set[str] = TERMINAL, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        status: dict = {}
        while time.monotonic() < deadline:
            try:
                status = self.status(job_id)
            except httpx.TransportError:  # the API may be restarting
                time.sleep(0.2)
                continue
            if status["status"] in statuses:
                return status
            time.sleep(0.05)
        logs = "\n".join(self.log_of(p) for p in self.processes)
        raise AssertionError(f"job {job_id} still {status} after {timeout}s\n{logs}")

    @property
    def database(self) -> Database:
        """Our own connection to the service's database, to read rows without the API."""
        if self._database is None:
            settings = Settings(
                _env_file=None,
                data_dir=self.data_dir,
                database_url=self.env.get("VIDEO_JOBS_DATABASE_URL", ""),
            )
            self._database = build_database(settings, pool_size=1)
        return self._database

    def job_row(self, job_id: str) -> Job:
        """Read the row straight from the database (attempts are not in the API)."""
        job = self.database.jobs.get(uuid.UUID(job_id))
        if job is None:
            raise ServiceError(f"job {job_id} is not in the database")
        return job

    def wait_finished(self, job_ids: list[str], timeout: float, poll_s: float = 0.005) -> list[Job]:
        """Wait until every job is finished, reading the database directly (polling the
        API would compete with the API for its own CPU in a measurement)."""
        deadline = time.monotonic() + timeout
        done: dict[str, Job] = {}
        while time.monotonic() < deadline:
            for job_id in job_ids:
                if job_id not in done and (job := self.job_row(job_id)).status.is_finished:
                    done[job_id] = job
            if len(done) == len(job_ids):
                return [done[j] for j in job_ids]
            self.check_running()
            time.sleep(poll_s)
        raise ServiceError(f"{len(job_ids) - len(done)} job(s) unfinished after {timeout:.0f}s")

    def results(self, job_id: str) -> dict:
        response = self.client.get(f"/video/results/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()


def write_pipeline(folder: Path, pipeline_id: str, steps: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pipeline_id}.json"
    path.write_text(json.dumps({"id": pipeline_id, "description": "test", "steps": steps}))
    return path
