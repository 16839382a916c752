"""SearchIndex in a dict: for unit tests, passing the same contract suite as SQL."""

from __future__ import annotations

import threading
import uuid

from app.domain.ports import SearchIndex
from app.domain.search import TEXT, IndexedJob, SearchHit, SearchPage, SearchQuery, fold


class InMemorySearchIndex(SearchIndex):
    def __init__(self) -> None:
        self._entries: dict[uuid.UUID, IndexedJob] = {}
        self._lock = threading.Lock()

    def put(self, entry: IndexedJob) -> None:
        with self._lock:
            self._entries[entry.job_id] = entry

    def remove(self, job_id: uuid.UUID) -> None:
        with self._lock:
            self._entries.pop(job_id, None)

    def search(self, query: SearchQuery) -> SearchPage:
        with self._lock:
            entries = list(self._entries.values())
        found = [e for e in entries if _matches(e, query)]
        found.sort(key=lambda e: (e.created_at, e.job_id), reverse=True)
        page = found[query.offset : query.offset + query.limit]
        return SearchPage(len(found), [_hit(e, query) for e in page])


def _matches(entry: IndexedJob, query: SearchQuery) -> bool:
    if query.tag is not None and entry.tag != query.tag:
        return False
    if (query.label is not None or query.min_individuals is not None) and not any(
        query.label_qualifies(label, n) for label, n in entry.labels.items()
    ):
        return False
    folded = query.folded_text
    return folded is None or any(m.kind == TEXT and folded in fold(m.value) for m in entry.matches)


def _hit(entry: IndexedJob, query: SearchQuery) -> SearchHit:
    folded = query.folded_text
    chosen = [
        (m.start_ms, position, m)
        for position, m in enumerate(entry.matches)
        if (m.kind == TEXT and folded is not None and folded in fold(m.value))
        or (m.kind != TEXT and query.label_qualifies(m.value, entry.labels.get(m.value, 0)))
    ]
    chosen.sort(key=lambda item: item[:2])
    matches = [m for _, _, m in chosen[: query.max_matches]]
    return SearchHit(entry.job_id, entry.filename, entry.tag, entry.created_at, matches)
