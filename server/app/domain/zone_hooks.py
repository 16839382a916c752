"""The `zone.events` webhook: a job's line crossings and zone entries and exits, POSTed
once to its callback_url when the job completes (`callback_events=true`).

Delivered at completion, not while frames run, because the events are only final then:
`events.csv` is fed by the end-of-job pass over settled tracks (a track's label and
confirmation are known only after the last frame), and a track that ends inside a zone
leaves it when the tracker gives it up. So the frame loop pays nothing, and the rows are
exactly the events file's rows. The body goes into the same outbox row set as the
`job.completed` event, in the same transaction, so the dispatcher sends it with the same
signature, retries and destination checks, and a failed or canceled job sends none.
Bounded: at most `max_events` rows are read (line by line) and sent; when there are
more, the body says so and the job carries a warning.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from app.domain.model import Job

EVENT_NAME = "zone.events"
_INTEGERS = ("timestamp_ms", "frame_index", "track_id", "dwell_ms")


def event_rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The events file's rows as JSON objects: numbers as numbers, an empty `dwell_ms`
    as null, an empty `direction` as "" (zone entries and exits have none)."""
    for row in csv.DictReader(lines):
        event: dict[str, Any] = dict(row)
        for name in _INTEGERS:
            text = event.get(name) or ""
            event[name] = int(text) if text else None
        yield event


def zone_events_payload(
    job: Job, rows: Iterable[dict[str, Any]], max_events: int
) -> tuple[str, str | None]:
    """The webhook body and, when the job had more events than `max_events`, the
    warning to record with it. All rows are counted (cheap), only `max_events` kept."""
    kept: list[dict[str, Any]] = []
    total = 0
    for row in rows:
        total += 1
        if len(kept) < max_events:
            kept.append(row)
    truncated = total > len(kept)
    body = {
        "event": EVENT_NAME,
        "job_id": str(job.job_id),
        "pipeline_id": job.pipeline_id,
        "events_total": total,
        "truncated": truncated,
        "events": kept,
    }
    warning = None
    if truncated:
        warning = (
            f"the zone.events webhook carries the first {len(kept)} of {total} events "
            "(VIDEO_JOBS_WEBHOOK_MAX_ZONE_EVENTS); events.csv has them all"
        )
    return json.dumps(body), warning
