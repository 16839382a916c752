"""GET /video/pipelines."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RunnerDep, SettingsDep
from app.api.schemas import PipelineResponse

router = APIRouter(tags=["pipelines"])


@router.get("/video/pipelines", response_model=list[PipelineResponse])
def list_pipelines(runner: RunnerDep, settings: SettingsDep) -> list[PipelineResponse]:
    """The pipeline ids a submit may name, each with the labels it can emit; `default`
    marks the one a submit naming none runs."""
    return [
        PipelineResponse(
            id=p.id,
            description=p.description,
            labels=list(p.labels),
            default=p.id == settings.default_pipeline,
        )
        for p in runner.pipelines()
    ]
