"""GET /video/search: the completed jobs that show a label, a text on screen or a tag,
newest first, each with the times where it matched, a page at a time."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from app.api.deps import SearchDep, SettingsDep
from app.api.routes.job_list import MAX_OFFSET
from app.api.schemas import ErrorResponse, ValidationErrorResponse
from app.domain.options import MAX_TAG_CHARS
from app.domain.search import SearchPage, SearchQuery

router = APIRouter(tags=["search"])

MAX_LIMIT = 100
MAX_LABEL_CHARS = 128
FILTERS = ("label", "text", "tag", "min_individuals")


class SearchMatchResponse(BaseModel):
    kind: Literal["label", "text"] = Field(description="a track of the label, or a text read")
    value: str = Field(description="the label, or the text as it was read")
    start_ms: int
    end_ms: int
    track_id: int | None = Field(description="the track in the job's results and summary")


class SearchItemResponse(BaseModel):
    job_id: uuid.UUID
    filename: str | None
    tag: str | None
    matches: list[SearchMatchResponse] = Field(
        description="in time order, at most VIDEO_JOBS_SEARCH_MAX_MATCHES_PER_JOB; "
        "empty when only tag matched"
    )


class SearchResponse(BaseModel):
    total: int = Field(description="completed jobs matching every filter, on every page")
    items: list[SearchItemResponse] = Field(description="newest job first")


def _stripped(value: str | None) -> str | None:
    return (value or "").strip() or None


@router.get(
    "/video/search",
    response_model=SearchResponse,
    responses={
        422: {
            "model": ValidationErrorResponse,
            "description": "no filter given, or a parameter out of range",
        },
        401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
    },
)
def search_jobs(
    search: SearchDep,
    settings: SettingsDep,
    label: Annotated[
        str | None,
        Query(max_length=MAX_LABEL_CHARS, description="jobs with tracks of this label (exact)"),
    ] = None,
    text: Annotated[
        str | None,
        Query(description="jobs where this text was read on screen (substring, any case)"),
    ] = None,
    tag: Annotated[
        str | None,
        Query(max_length=MAX_TAG_CHARS, description="jobs submitted with this tag (exact)"),
    ] = None,
    min_individuals: Annotated[
        int | None,
        Query(
            ge=1,
            le=1_000_000,
            description="the label (or, without label, any label) has at least this many "
            "individuals",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="jobs to skip")] = 0,
) -> SearchResponse:
    """Completed jobs where every given filter holds, newest first: the tracks of the
    label and the texts read on screen that matched, with their times. Page with
    `offset` until it reaches `total`. Give at least one filter."""
    label, text, tag = _stripped(label), _stripped(text), _stripped(tag)
    _check(label, text, tag, min_individuals, settings.search_max_text_chars)
    query = SearchQuery(
        label=label,
        text=text,
        tag=tag,
        min_individuals=min_individuals,
        limit=limit,
        offset=offset,
        max_matches=settings.search_max_matches_per_job,
    )
    return _response(search.search(query))


def _check(
    label: str | None, text: str | None, tag: str | None, minimum: int | None, max_text: int
) -> None:
    """422 with the field at fault: no filter at all (that is GET /video/jobs), or a
    text longer than VIDEO_JOBS_SEARCH_MAX_TEXT_CHARS."""
    if label is None and text is None and tag is None and minimum is None:
        raise RequestValidationError(
            [
                {
                    "type": "missing",
                    "loc": ("query", "label"),
                    "msg": "give at least one of label, text, tag or min_individuals "
                    "(GET /video/jobs lists every job)",
                    "input": None,
                }
            ]
        )
    for name, value in (("label", label), ("text", text), ("tag", tag)):
        if value is not None and "\x00" in value:  # PostgreSQL refuses NUL in a string
            raise RequestValidationError(
                [
                    {
                        "type": "string_pattern_mismatch",
                        "loc": ("query", name),
                        "msg": f"{name} contains a NUL character",
                        "input": value[:80],
                    }
                ]
            )
    if text is not None and len(text) > max_text:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("query", "text"),
                    "msg": f"text is {len(text)} characters; at most {max_text} are searched "
                    "(VIDEO_JOBS_SEARCH_MAX_TEXT_CHARS)",
                    "input": text[:80],
                }
            ]
        )


def _response(page: SearchPage) -> SearchResponse:
    return SearchResponse(
        total=page.total,
        items=[
            SearchItemResponse(
                job_id=hit.job_id,
                filename=hit.filename,
                tag=hit.tag,
                matches=[
                    SearchMatchResponse(
                        kind="text" if m.kind == "text" else "label",
                        value=m.value,
                        start_ms=m.start_ms,
                        end_ms=m.end_ms,
                        track_id=m.track_id,
                    )
                    for m in hit.matches
                ],
            )
            for hit in page.items
        ],
    )
