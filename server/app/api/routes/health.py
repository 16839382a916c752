"""GET /health: 200 when the database takes a write, the queue answers, the disk has
room and no worker reports that it cannot load its models; 503 naming what does not.

A `SELECT 1` also answers on a full disk or a locked database, so the check is a real
committed write (one row, migration 0005); free space is compared with
VIDEO_JOBS_MIN_FREE_BYTES, the floor under which submits are refused with 507. Workers
report their problems as files under DATA_DIR (adapters/storage/worker_reports.py); a
report not refreshed for two leases (VIDEO_JOBS_LEASE_S) is a dead worker's, ignored.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.adapters.storage.worker_reports import WorkerReports
from app.api.deps import JobsDep, QueueDep, SettingsDep, StorageDep
from app.api.schemas import HealthResponse
from app.domain.model import utcnow
from app.settings import Settings

router = APIRouter(tags=["health"])


def _error(prefix: str, exc: Exception) -> str:
    return f"{prefix}{exc.__class__.__name__}: {exc}"[:300]


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={
        503: {
            "model": HealthResponse,
            "description": "the database cannot be written, the queue is down, the disk "
            "is under VIDEO_JOBS_MIN_FREE_BYTES, or a worker cannot load its models",
        }
    },
)
def health(
    jobs: JobsDep, queue: QueueDep, storage: StorageDep, settings: SettingsDep
) -> JSONResponse:
    """Liveness and readiness in one; never needs the API key."""
    body: dict = {
        "status": "healthy",
        "database": "ok",
        "queue": "ok",
        "disk": "ok",
        "queue_depth": None,
        "free_bytes": None,
        "workers": "ok",
    }
    try:
        jobs.ping()
    except Exception as exc:
        body["database"] = _error("error: ", exc)
    else:
        try:
            jobs.check_writable(utcnow())
        except Exception as exc:
            body["database"] = _error("cannot write: ", exc)
    try:
        queue.ping()
        body["queue_depth"] = queue.size()
    except Exception as exc:
        body["queue"] = f"error: {exc}"[:300]
    try:
        free = body["free_bytes"] = storage.free_bytes()
        if free < settings.min_free_bytes:
            body["disk"] = (
                f"low: {free} bytes free, under VIDEO_JOBS_MIN_FREE_BYTES={settings.min_free_bytes}"
            )
    except OSError as exc:
        body["disk"] = _error("error: ", exc)
    body["workers"] = _worker_problems(settings)
    healthy = all(body[part] == "ok" for part in ("database", "queue", "disk", "workers"))
    body["status"] = "healthy" if healthy else "unhealthy"
    return JSONResponse(body, status_code=200 if healthy else 503)


def _worker_problems(settings: Settings) -> str:
    try:
        reports = WorkerReports(settings.worker_reports_dir).current(2 * settings.lease_s)
    except OSError as exc:
        return _error("error: ", exc)
    if not reports:
        return "ok"
    named = "; ".join(f"{worker}: {' '.join(problems)}" for worker, problems in reports.items())
    return f"{len(reports)} worker(s) cannot run every pipeline: {named}"[:1000]
