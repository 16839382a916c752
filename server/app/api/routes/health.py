"""GET /health: 200 when the database and the queue answer, 503 naming what does not."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import JobsDep, QueueDep
from app.api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "the database or queue is down"}},
)
def health(jobs: JobsDep, queue: QueueDep) -> JSONResponse:
    """Liveness and readiness in one; never needs the API key."""
    body: dict = {"status": "healthy", "database": "ok", "queue": "ok", "queue_depth": None}
    try:
        jobs.ping()
    except Exception as exc:
        body["database"] = f"error: {exc.__class__.__name__}: {exc}"[:300]
    try:
        queue.ping()
        body["queue_depth"] = queue.size()
    except Exception as exc:
        body["queue"] = f"error: {exc}"[:300]
    healthy = body["database"] == "ok" and body["queue"] == "ok"
    body["status"] = "healthy" if healthy else "unhealthy"
    return JSONResponse(body, status_code=200 if healthy else 503)
