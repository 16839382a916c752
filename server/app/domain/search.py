"""Search across jobs: what a completed job's summary puts in the index, and the query.

The index is a small copy of each completed job's summary (labels with their number of
individuals, tracks with their times, texts read on screen), written by the worker when
the job completes, so one search reads a few indexed rows instead of every job's files.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.domain.model import Job, summary_key

if TYPE_CHECKING:  # the port is declared beside the others, and names these types
    from app.domain.ports import SearchIndex, StorageService

log = logging.getLogger(__name__)

LABEL, TEXT = "label", "text"
MAX_VALUE_CHARS = 512  # a text longer than this is indexed (and matched) by its start


def fold(value: str) -> str:
    """The case-insensitive form both sides of a text search are compared in."""
    return value.casefold()


@dataclass(frozen=True)
class SearchMatch:
    """Where a job matched: a track of the label, or a text read on screen."""

    kind: str  # "label" or "text"
    value: str
    start_ms: int
    end_ms: int
    track_id: int | None = None


@dataclass(frozen=True)
class IndexedJob:
    """One completed job's entry: labels with their individuals, and its matches."""

    job_id: uuid.UUID
    created_at: datetime
    filename: str | None
    tag: str | None
    labels: dict[str, int] = field(default_factory=dict)  # label -> individuals
    matches: tuple[SearchMatch, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """What to look for; every given filter must hold (at least one is given)."""

    label: str | None = None
    text: str | None = None
    tag: str | None = None
    min_individuals: int | None = None
    limit: int = 20
    offset: int = 0
    max_matches: int = 50  # per job in the answer

    @property
    def folded_text(self) -> str | None:
        return fold(self.text)[:MAX_VALUE_CHARS] if self.text is not None else None

    def label_qualifies(self, label: str, individuals: int) -> bool:
        """A label whose tracks are this query's label matches."""
        if self.label is None and self.min_individuals is None:
            return False
        if self.label is not None and label != self.label:
            return False
        return self.min_individuals is None or individuals >= self.min_individuals


@dataclass(frozen=True)
class SearchHit:
    job_id: uuid.UUID
    filename: str | None
    tag: str | None
    created_at: datetime
    matches: list[SearchMatch]


@dataclass(frozen=True)
class SearchPage:
    total: int
    items: list[SearchHit]


def entry_from_summary(job: Job, summary: dict[str, Any], *, max_rows: int) -> IndexedJob:
    """The index entry of a job from its summary document: every label's individuals
    (`individuals` when the summary has it, else its number of tracks), each track of
    a label and each distinct text with its times, at most `max_rows` matches."""
    labels: dict[str, int] = {}
    for item in summary.get("labels") or []:
        count = item.get("individuals", item.get("tracks", 0))
        labels[str(item["label"])] = int(count or 0)
    matches: list[SearchMatch] = []
    for track in summary.get("tracks") or []:
        if len(matches) >= max_rows:
            break
        matches.append(
            SearchMatch(
                LABEL,
                str(track["label"]),
                int(track["start_ms"]),
                int(track["end_ms"]),
                track.get("track_id"),
            )
        )
    for item in summary.get("texts") or []:
        if len(matches) >= max_rows:
            break
        track_ids = item.get("track_ids") or []
        matches.append(
            SearchMatch(
                TEXT,
                str(item["text"]).replace("\x00", "")[:MAX_VALUE_CHARS],  # PostgreSQL: no NUL
                int(item["start_ms"]),
                int(item["end_ms"]),
                int(track_ids[0]) if track_ids else None,
            )
        )
    return IndexedJob(job.job_id, job.created_at, job.filename, job.tag, labels, tuple(matches))


def index_completed_job(
    index: SearchIndex, storage: StorageService, job: Job, *, max_rows: int
) -> str | None:
    """Write (or rewrite) a job's index entry from its summary file; the job's warning
    when that failed (the job still completes: only search misses it), else None."""
    try:
        summary = json.loads(storage.load_file(summary_key(job.job_id)))
        entry = entry_from_summary(job, summary, max_rows=max_rows)
        index.put(entry)
    except Exception as exc:
        log.warning("job %s: not added to the search index: %r", job.job_id, exc)
        return f"search index not updated, so searches will not find this job: {exc}"
    if len(entry.matches) >= max_rows:
        log.info("job %s: search index holds its first %d tracks and texts", job.job_id, max_rows)
    return None


@dataclass(frozen=True)
class JobIndexer:
    """The worker's hook at completion: index the job from its summary, or forget it
    when the completion was not recorded (canceled meanwhile, or the claim lost)."""

    index: SearchIndex
    storage: StorageService
    max_rows: int

    def add(self, job: Job) -> str | None:
        return index_completed_job(self.index, self.storage, job, max_rows=self.max_rows)

    def forget(self, job_id: uuid.UUID) -> None:
        try:
            self.index.remove(job_id)
        except Exception as exc:
            log.warning("job %s: could not be removed from the search index: %r", job_id, exc)
