"""GET /video/pipelines."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RunnerDep
from app.api.schemas import PipelineResponse

router = APIRouter(tags=["pipelines"])


@router.get("/video/pipelines", response_model=list[PipelineResponse])
def list_pipelines(runner: RunnerDep) -> list[PipelineResponse]:
    """The pipeline ids a submit may name, each with the labels it can emit."""
    return [
        PipelineResponse(id=p.id, description=p.description, labels=list(p.labels))
        for p in runner.pipelines()
    ]
