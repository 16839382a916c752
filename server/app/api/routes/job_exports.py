"""GET /video/jobs/{job_id}/<export>: one route per entry of the export list
(`domain/exports.py`), each a file the worker wrote when the job completed, sent from
disk in chunks (flat API memory).

Like results: 404 for an unknown or unfinished job, or an export the job did not ask
for; 410 once its files were deleted. FileResponse answers Range requests, which
<video> needs to seek in annotated.mp4.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from app.api.deps import JobsDep, StorageDep
from app.api.schemas import ErrorResponse
from app.domain.exports import EXPORTS, ExportFile
from app.domain.options import AnalysisOptions
from app.domain.ports import JobRepository, StorageService
from app.domain.services import completed_job

router = APIRouter(tags=["exports"])

ERRORS: dict[int | str, dict] = {
    404: {"model": ErrorResponse, "description": "unknown job, not completed, or not asked for"},
    410: {"model": ErrorResponse, "description": "the job's files were deleted"},
}


def stored_export(
    jobs: JobRepository,
    storage: StorageService,
    job_id: uuid.UUID,
    key: Callable[[uuid.UUID], str],
    what: str,
    missing: str = "it completed before this export existed",
) -> str:
    """The local path of a completed job's export, or the error a client can act on."""
    completed_job(jobs, job_id)
    name = key(job_id)
    if not storage.exists(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no {what}: {missing}")
    return storage.local_path(name)


def _serve(export: ExportFile) -> Callable[..., FileResponse]:
    def serve(job_id: uuid.UUID, jobs: JobsDep, storage: StorageDep) -> FileResponse:
        job = completed_job(jobs, job_id)
        if not export.wanted(AnalysisOptions.from_dict(job.options)):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"job {job_id} was not submitted with {_asked_as(export.option)}: "
                f"it has no {export.name}",
            )
        path = stored_export(jobs, storage, job_id, export.key, export.name, export.missing)
        filename = export.key(job_id) if export.attachment else None
        return FileResponse(path, media_type=export.media_type, filename=filename)

    serve.__doc__ = export.description
    serve.__name__ = export.name.replace(".", "_")
    return serve


for _export in EXPORTS:
    router.add_api_route(
        f"/video/jobs/{{job_id}}/{_export.name}",
        _serve(_export),
        methods=["GET"],
        response_class=FileResponse,
        responses={
            200: {
                "content": {_export.media_type.split(";")[0]: {}},
                "description": _export.description,
            },
            **ERRORS,
        },
    )


def _asked_as(option: str | None) -> str:
    """How a submit asks for the export: `annotate=true`, or `zones=...` for a value."""
    flag = isinstance(getattr(AnalysisOptions(), option or "", None), bool)
    return f"{option}=true" if flag else f"{option}=..."
