"""The analysis options and tag of a submit, from form fields or query parameters.

Like `pipeline_id`, each may come as a form field or a query parameter (both must agree
when both are given). They arrive as text and are validated by the domain
(`app.domain.options`), so a bad value is a 400 with a sentence naming the field, not
FastAPI's 422 type error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Query

from app.api.deps import SettingsDep
from app.domain.options import AnalysisOptions, merge_sources, parse_options, parse_tag

_HELP = {
    "sample_fps": "analyse at most this many frames per second of video (> 0)",
    "start_s": "analyse from this time, in seconds (inclusive)",
    "end_s": "analyse up to this time, in seconds (exclusive; > start_s)",
    "min_confidence": "drop detections below this confidence (0..1)",
    "labels": "comma-separated labels to keep, e.g. person,car",
    "annotate": "true: also render an annotated video (annotated.mp4)",
    "zones": 'JSON {"zones": [{"name", "polygon": [[x, y], ...]}], "lines": [{"name", '
    '"points": [[x0, y0], [x1, y1]]}], "units": "px" | "fraction"}: count crossings and dwell',
    "callback_events": "true: also POST the zone and line events to callback_url when the "
    "job completes (needs zones and callback_url)",
    "split": "false: analyse a long video on one worker (default true: a video over "
    "VIDEO_JOBS_SPLIT_MIN_S is split into segments analysed in parallel)",
    "tag": "free text, at most 256 characters, to find the job again (GET /video/jobs?tag=)",
}


def _form(name: str):
    return Form(alias=name, description=_HELP[name])


def _query(name: str):
    return Query(alias=name, description=_HELP[name])


@dataclass(frozen=True)
class SubmitFields:
    options: AnalysisOptions
    tag: str | None


def submit_fields(
    settings: SettingsDep,
    sample_fps_form: Annotated[str | None, _form("sample_fps")] = None,
    sample_fps_query: Annotated[str | None, _query("sample_fps")] = None,
    start_s_form: Annotated[str | None, _form("start_s")] = None,
    start_s_query: Annotated[str | None, _query("start_s")] = None,
    end_s_form: Annotated[str | None, _form("end_s")] = None,
    end_s_query: Annotated[str | None, _query("end_s")] = None,
    min_confidence_form: Annotated[str | None, _form("min_confidence")] = None,
    min_confidence_query: Annotated[str | None, _query("min_confidence")] = None,
    labels_form: Annotated[str | None, _form("labels")] = None,
    labels_query: Annotated[str | None, _query("labels")] = None,
    annotate_form: Annotated[str | None, _form("annotate")] = None,
    annotate_query: Annotated[str | None, _query("annotate")] = None,
    zones_form: Annotated[str | None, _form("zones")] = None,
    zones_query: Annotated[str | None, _query("zones")] = None,
    callback_events_form: Annotated[str | None, _form("callback_events")] = None,
    callback_events_query: Annotated[str | None, _query("callback_events")] = None,
    split_form: Annotated[str | None, _form("split")] = None,
    split_query: Annotated[str | None, _query("split")] = None,
    tag_form: Annotated[str | None, _form("tag")] = None,
    tag_query: Annotated[str | None, _query("tag")] = None,
) -> SubmitFields:
    """Merge and validate; InvalidOptions (400) names the first bad field."""
    given = {k: v for k, v in locals().items() if k != "settings"}
    form = {name: given[f"{name}_form"] for name in _HELP}
    query = {name: given[f"{name}_query"] for name in _HELP}
    raw = merge_sources(form, query)
    return SubmitFields(
        options=parse_options(raw, settings.zone_limits()), tag=parse_tag(raw.get("tag"))
    )


SubmitFieldsDep = Annotated[SubmitFields, Depends(submit_fields)]
