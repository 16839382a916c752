"""GET /video/jobs/{job_id}/shots/{index}.jpg: a shot's keyframe, the small JPEG the
worker wrote when the shot ended (the summary's `shots[i].keyframe` says which frame).

Sent from disk, never decoded here. 404 for an unknown or unfinished job or a shot it
does not have, 410 once its files were deleted; cached like frame images.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from app.api.deps import JobsDep, StorageDep
from app.api.routes.job_exports import ERRORS, stored_export
from app.domain.model import shot_keyframe_key

router = APIRouter(tags=["jobs"])

MAX_SHOT_INDEX = 10_000_000


@router.get(
    "/video/jobs/{job_id}/shots/{index}.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the keyframe"}, **ERRORS},
)
def job_shot_keyframe(
    job_id: uuid.UUID,
    index: Annotated[int, Path(ge=0, le=MAX_SHOT_INDEX, description="shot index, from 0")],
    jobs: JobsDep,
    storage: StorageDep,
) -> FileResponse:
    """The keyframe of shot `index`: its sharpest frame near the middle, never a black
    one when the shot has a picture."""
    path = stored_export(
        jobs,
        storage,
        job_id,
        lambda jid: shot_keyframe_key(jid, index),
        f"shot {index}",
        "it has fewer shots (see its summary's shots)",
    )
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )
