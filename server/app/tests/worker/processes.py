"""Run the real API (uvicorn) and real workers as OS processes for end-to-end tests.

Every process gets the test's temporary DATA_DIR and free ports; `close()` stops
whatever is still running, so no test leaves a process behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from app.tests.conftest import free_port

TERMINAL = {"completed", "failed"}


class Services:
    def __init__(self, root: Path, **settings: object) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self.env = {
            **os.environ,
            "VIDEO_JOBS_DATA_DIR": str(self.data_dir),
            "VIDEO_JOBS_QUEUE_PORT": str(free_port()),
            "VIDEO_JOBS_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DATABASE_URL", "API_KEY", "QUEUE_AUTHKEY", "PIPELINES_DIR"):
            self.env.pop(f"VIDEO_JOBS_{name}", None)
        self.env.update({f"VIDEO_JOBS_{k.upper()}": str(v) for k, v in settings.items()})
        self.processes: list[subprocess.Popen] = []
        self.api: subprocess.Popen | None = None
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=30)
        self._log_count = 0

    # -- processes -----------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        self._log_count += 1
        log = open(self.root / f"{name}-{self._log_count}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, *args], env=self.env, cwd=self.root, stdout=log, stderr=log
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

    def start_worker(self, *args: str) -> subprocess.Popen:
        return self._spawn("worker", ["-m", "app.workers.worker_runner", *args])

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api is not None and self.api.poll() is not None:
                raise AssertionError(f"API exited early:\n{self.log_of(self.api)}")
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"API not healthy in {timeout}s:\n{self.log_of(self.api)}")

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

    # -- HTTP ----------------------------------------------------------------------
    def submit(self, path: Path, pipeline_id: str | None = None) -> str:
        data = {"pipeline_id": pipeline_id} if pipeline_id else {}
        with open(path, "rb") as handle:
            response = self.client.post(
                "/video/submit", files={"file": (path.name, handle, "video/mp4")}, data=data
            )
        assert response.status_code == 200, response.text
        return response.json()["job_id"]

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

    def job_row(self, job_id: str):
        """Read the row straight from the database (attempts are not in the API)."""
        from app.bootstrap import build_database
        from app.settings import Settings

        database_url = self.env.get("VIDEO_JOBS_DATABASE_URL", "")
        settings = Settings(_env_file=None, data_dir=self.data_dir, database_url=database_url)
        database = build_database(settings, pool_size=1)
        try:
            return database.jobs.get(uuid.UUID(job_id))
        finally:
            database.close()

    def results(self, job_id: str) -> dict:
        response = self.client.get(f"/video/results/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()


def write_pipeline(folder: Path, pipeline_id: str, steps: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pipeline_id}.json"
    path.write_text(json.dumps({"id": pipeline_id, "description": "test", "steps": steps}))
    return path
