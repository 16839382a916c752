"""SearchIndex over SQLAlchemy (SQLite, PostgreSQL): three tables from migration 0006.

A search is two bounded queries: the page of matching job ids (with the total, counted
by the database), then at most `max_matches` matches for each job on that page, so
its memory depends on the page, never on how many jobs are indexed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.adapters.db.orm import SearchJobRow, SearchLabelRow, SearchMatchRow
from app.domain.ports import SearchIndex
from app.domain.search import (
    LABEL,
    TEXT,
    IndexedJob,
    SearchHit,
    SearchMatch,
    SearchPage,
    SearchQuery,
    fold,
)

_INSERT_BATCH = 1000


class SqlAlchemySearchIndex(SearchIndex):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def put(self, entry: IndexedJob) -> None:
        with self._sessions.begin() as session:
            _delete(session, entry.job_id)
            session.add(
                SearchJobRow(
                    job_id=entry.job_id,
                    created_at=entry.created_at,
                    filename=entry.filename,
                    tag=entry.tag,
                )
            )
            session.flush()
            labels = [
                {"job_id": entry.job_id, "label": label, "individuals": n}
                for label, n in entry.labels.items()
            ]
            if labels:
                session.execute(insert(SearchLabelRow), labels)
            rows = [_match_row(entry.job_id, m) for m in entry.matches]
            for start in range(0, len(rows), _INSERT_BATCH):
                session.execute(insert(SearchMatchRow), rows[start : start + _INSERT_BATCH])

    def remove(self, job_id: uuid.UUID) -> None:
        with self._sessions.begin() as session:
            _delete(session, job_id)

    def search(self, query: SearchQuery) -> SearchPage:
        jobs = select(SearchJobRow.job_id).where(*_job_filters(query))
        page = (
            select(
                SearchJobRow.job_id,
                SearchJobRow.filename,
                SearchJobRow.tag,
                SearchJobRow.created_at,
            )
            .where(*_job_filters(query))
            .order_by(SearchJobRow.created_at.desc(), SearchJobRow.job_id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(jobs.subquery())) or 0
            # Past the last match there is no page to read: a text that matches nothing
            # would otherwise scan every text a second time.
            rows = session.execute(page).all() if total > query.offset else []
            matches = _page_matches(session, [row.job_id for row in rows], query)
        items = [
            SearchHit(
                row.job_id, row.filename, row.tag, row.created_at, matches.get(row.job_id, [])
            )
            for row in rows
        ]
        return SearchPage(total, items)


def _delete(session: Session, job_id: uuid.UUID) -> None:
    for table in (SearchMatchRow, SearchLabelRow, SearchJobRow):
        session.execute(delete(table).where(table.job_id == job_id))


def _match_row(job_id: uuid.UUID, match: SearchMatch) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "kind": match.kind,
        "value": match.value,
        "folded": fold(match.value),
        "start_ms": match.start_ms,
        "end_ms": match.end_ms,
        "track_id": match.track_id,
    }


def _label_condition(query: SearchQuery, label_column) -> list[Any]:
    """The conditions on a search_labels row for the query's label filters."""
    conditions = []
    if query.label is not None:
        conditions.append(label_column == query.label)
    if query.min_individuals is not None:
        conditions.append(SearchLabelRow.individuals >= query.min_individuals)
    return conditions


def _text_condition(query: SearchQuery) -> Any:
    folded = query.folded_text
    assert folded is not None
    return and_(
        SearchMatchRow.kind == TEXT,
        SearchMatchRow.folded.contains(folded, autoescape=True),
    )


def _job_filters(query: SearchQuery) -> list[Any]:
    filters = []
    if query.tag is not None:
        filters.append(SearchJobRow.tag == query.tag)
    if query.label is not None or query.min_individuals is not None:
        filters.append(
            exists().where(
                SearchLabelRow.job_id == SearchJobRow.job_id,
                *_label_condition(query, SearchLabelRow.label),
            )
        )
    if query.text is not None:
        filters.append(
            exists().where(SearchMatchRow.job_id == SearchJobRow.job_id, _text_condition(query))
        )
    return filters


def _page_matches(
    session: Session, job_ids: list[uuid.UUID], query: SearchQuery
) -> dict[uuid.UUID, list[SearchMatch]]:
    """Each page job's first `max_matches` matches in time order (a window per job)."""
    wanted = []
    if query.label is not None or query.min_individuals is not None:
        wanted.append(
            and_(
                SearchMatchRow.kind == LABEL,
                exists().where(
                    SearchLabelRow.job_id == SearchMatchRow.job_id,
                    SearchLabelRow.label == SearchMatchRow.value,
                    *_label_condition(query, SearchMatchRow.value),
                ),
            )
        )
    if query.text is not None:
        wanted.append(_text_condition(query))
    if not job_ids or not wanted:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=SearchMatchRow.job_id,
            order_by=(SearchMatchRow.start_ms, SearchMatchRow.id),
        )
        .label("rank")
    )
    ranked = (
        select(SearchMatchRow, rank)
        .where(SearchMatchRow.job_id.in_(job_ids), or_(*wanted))
        .subquery()
    )
    rows = session.execute(
        select(ranked)
        .where(ranked.c.rank <= query.max_matches)
        .order_by(ranked.c.job_id, ranked.c.rank)
    ).all()
    found: dict[uuid.UUID, list[SearchMatch]] = {}
    for row in rows:
        found.setdefault(row.job_id, []).append(
            SearchMatch(row.kind, row.value, row.start_ms, row.end_ms, row.track_id)
        )
    return found
