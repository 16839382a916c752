"""Start the real API (uvicorn, one process) and real workers, as `make run` does.

Each `Services` gets its own temporary DATA_DIR and free ports, talks to 127.0.0.1 only,
and stops every process it started when closed (also on Ctrl-C), so a benchmark run
never leaves a process behind or touches the developer's ./data.
"""

from __future__ import annotations

import os
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
from app.run import stop_processes
from app.settings import Settings

STOP_TIMEOUT_S = 15.0
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port nobody listens on right now (bind port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceError(RuntimeError):
    """A process did not start, or exited when it should not have."""


class Services:
    """The API plus any number of workers, sharing one DATA_DIR and one database."""

    def __init__(self, root: Path, **settings: str) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("VIDEO_JOBS_")
        }
        self.env.update(
            {
                "VIDEO_JOBS_DATA_DIR": str(self.data_dir),
                "VIDEO_JOBS_QUEUE_HOST": "127.0.0.1",
                "VIDEO_JOBS_QUEUE_PORT": str(free_port()),
                "VIDEO_JOBS_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env.update({f"VIDEO_JOBS_{k.upper()}": v for k, v in settings.items()})
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=60)
        self._database: Database | None = None

    # -- processes ----------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log_path = self.root / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, *args], env=env, cwd=self.root, stdout=log, stderr=log
            )
        process.log_path = log_path  # type: ignore[attr-defined]
        return process

    def start_api(self) -> subprocess.Popen:
        """uvicorn with the app, exactly as `make run` starts it; returns once healthy."""
        args = ["-m", "uvicorn", "app.api.main:app", "--host", "127.0.0.1"]
        self.api = self._spawn("api", [*args, "--port", str(self.api_port)], self.env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive(self.api)
            try:
                if self.client.get("/health").status_code == 200:
                    return self.api
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise ServiceError(f"the API was not healthy within {START_TIMEOUT_S:.0f}s")

    def start_workers(self, count: int, **extra_env: str) -> list[subprocess.Popen]:
        """`count` more workers, started side by side; returns once each has logged
        that its loop started (so the first job does not wait for a worker's imports)."""
        env = {**self.env, **{f"VIDEO_JOBS_{k.upper()}": v for k, v in extra_env.items()}}
        started = []
        for _ in range(count):
            name = f"worker-{len(self.workers) + 1}"
            started.append(self._spawn(name, ["-m", "app.workers.worker_runner"], env))
            self.workers.append(started[-1])
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(started)
        while waiting and time.monotonic() < deadline:
            for worker in list(waiting):
                self._check_alive(worker)
                if f"worker-{worker.pid} started" in self.log_of(worker):
                    waiting.remove(worker)
            time.sleep(0.05)
        if waiting:
            raise ServiceError(f"{len(waiting)} worker(s) did not start in {START_TIMEOUT_S:.0f}s")
        return started

    def _check_alive(self, process: subprocess.Popen) -> None:
        if process.poll() is not None:
            tail = self.log_of(process)[-3000:]
            raise ServiceError(f"process {process.args!s} exited ({process.returncode}):\n{tail}")

    def check_running(self) -> None:
        """Raise if the API or a worker died during a measurement."""
        for process in [p for p in (self.api, *self.workers) if p is not None]:
            self._check_alive(process)

    @staticmethod
    def log_of(process: subprocess.Popen) -> str:
        path: Path = process.log_path  # type: ignore[attr-defined]
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_workers(self) -> None:
        stop_processes(self.workers, STOP_TIMEOUT_S)
        self.workers = []

    def close(self) -> None:
        """Stop everything this object started: workers first, then the API."""
        try:
            self.stop_workers()
        finally:
            if self.api is not None:
                stop_processes([self.api], STOP_TIMEOUT_S)
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

    # -- HTTP and the database ------------------------------------------------------
    def submit(self, clip: Path, pipeline_id: str, client: httpx.Client | None = None) -> str:
        """POST /video/submit; returns the job id (raises unless 200)."""
        with open(clip, "rb") as handle:
            response = (client or self.client).post(
                "/video/submit",
                files={"file": (clip.name, handle, "video/mp4")},
                data={"pipeline_id": pipeline_id},
            )
        if response.status_code != 200:
            raise ServiceError(f"submit answered {response.status_code}: {response.text}")
        return str(response.json()["job_id"])

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

    def job(self, job_id: str) -> Job:
        job = self.database.jobs.get(uuid.UUID(job_id))
        if job is None:
            raise ServiceError(f"job {job_id} is not in the database")
        return job

    def wait_finished(self, job_ids: list[str], timeout: float, poll_s: float = 0.005) -> list[Job]:
        """Wait until every job is completed or failed, reading the database directly
        (polling the API would compete with the API for its own CPU)."""
        deadline = time.monotonic() + timeout
        done: dict[str, Job] = {}
        while time.monotonic() < deadline:
            for job_id in job_ids:
                if job_id not in done and (job := self.job(job_id)).status.is_finished:
                    done[job_id] = job
            if len(done) == len(job_ids):
                return [done[j] for j in job_ids]
            self.check_running()
            time.sleep(poll_s)
        raise ServiceError(f"{len(job_ids) - len(done)} job(s) unfinished after {timeout:.0f}s")
