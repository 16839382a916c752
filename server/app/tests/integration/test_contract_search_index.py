"""The SearchIndex contract, run against every adapter: in-memory, SQLite, PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.adapters.db.engine import build_session_factory
from app.adapters.db.migrate import migrate_to_head
from app.adapters.search.in_memory import InMemorySearchIndex
from app.adapters.search.sqlalchemy_index import SqlAlchemySearchIndex
from app.domain.ports import SearchIndex
from app.domain.search import IndexedJob, SearchMatch, SearchQuery
from app.tests.integration.conftest import REPOSITORY_BACKENDS, empty_database

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture(params=REPOSITORY_BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    if request.param == "memory":
        yield InMemorySearchIndex()
        return
    with empty_database(request.param, tmp_path) as engine:
        migrate_to_head(engine)
        yield SqlAlchemySearchIndex(build_session_factory(engine))


def track(label: str, start: int, end: int, track_id: int) -> SearchMatch:
    return SearchMatch("label", label, start, end, track_id)


def text(value: str, start: int, end: int, track_id: int | None = None) -> SearchMatch:
    return SearchMatch("text", value, start, end, track_id)


def entry(
    minutes: int,
    *,
    labels: dict[str, int] | None = None,
    matches: tuple[SearchMatch, ...] = (),
    tag: str | None = None,
) -> IndexedJob:
    return IndexedJob(
        uuid.uuid4(), T0 + timedelta(minutes=minutes), f"clip{minutes}.mp4", tag,
        labels or {}, matches,
    )  # fmt: skip


def ids(index: SearchIndex, **query) -> list[uuid.UUID]:
    return [hit.job_id for hit in index.search(SearchQuery(**query)).items]


def test_a_label_finds_the_jobs_that_show_it_newest_first_with_its_tracks(
    index: SearchIndex,
) -> None:
    old = entry(1, labels={"dog": 1}, matches=(track("dog", 0, 900, 1),))
    new = entry(2, labels={"dog": 2, "cat": 1}, matches=(
        track("cat", 0, 500, 3), track("dog", 700, 1500, 5), track("dog", 100, 400, 4),
    ))  # fmt: skip
    other = entry(3, labels={"cat": 1}, matches=(track("cat", 0, 100, 1),))
    for e in (old, new, other):
        index.put(e)
    page = index.search(SearchQuery(label="dog"))
    assert page.total == 2
    assert [hit.job_id for hit in page.items] == [new.job_id, old.job_id]
    first = page.items[0]
    assert (first.filename, first.tag, first.created_at) == ("clip2.mp4", None, new.created_at)
    assert first.matches == [track("dog", 100, 400, 4), track("dog", 700, 1500, 5)]


def test_min_individuals_counts_the_label_and_alone_any_label(index: SearchIndex) -> None:
    one = entry(1, labels={"person": 1, "car": 3}, matches=(
        track("person", 0, 10, 1), track("car", 5, 10, 2),
    ))  # fmt: skip
    three = entry(2, labels={"person": 3}, matches=(track("person", 0, 10, 1),))
    for e in (one, three):
        index.put(e)
    assert ids(index, label="person", min_individuals=2) == [three.job_id]
    assert ids(index, min_individuals=3) == [three.job_id, one.job_id]
    hit = index.search(SearchQuery(min_individuals=3, offset=1)).items[0]
    assert hit.matches == [track("car", 5, 10, 2)]  # only the label that has 3


def test_text_is_a_case_insensitive_substring_and_wildcards_are_literal(
    index: SearchIndex,
) -> None:
    exit_sign = entry(1, matches=(text("Emergency EXIT", 1000, 4000, 7), text("Open", 0, 50)))
    percent = entry(2, matches=(text("50% off_today", 0, 100),))
    for e in (exit_sign, percent):
        index.put(e)
    page = index.search(SearchQuery(text="exit"))
    assert [hit.job_id for hit in page.items] == [exit_sign.job_id]
    assert page.items[0].matches == [text("Emergency EXIT", 1000, 4000, 7)]
    assert ids(index, text="GENCY e") == [exit_sign.job_id]
    assert ids(index, text="%") == [percent.job_id]
    assert ids(index, text="f_t") == [percent.job_id]
    assert ids(index, text="_") == [percent.job_id]
    assert ids(index, text="x%t") == []


def test_filters_combine_and_a_tag_matches_exactly(index: SearchIndex) -> None:
    a = entry(1, tag="street", labels={"car": 1}, matches=(track("car", 0, 9, 1),))
    b = entry(2, tag="street", labels={"dog": 1}, matches=(track("dog", 0, 9, 1),))
    c = entry(3, tag="Street", labels={"car": 1}, matches=(track("car", 0, 9, 1),))
    for e in (a, b, c):
        index.put(e)
    assert ids(index, tag="street") == [b.job_id, a.job_id]
    assert ids(index, tag="street", label="car") == [a.job_id]
    assert index.search(SearchQuery(tag="street")).items[0].matches == []  # a tag has no times


def test_paging_counts_every_match_and_reads_one_page(index: SearchIndex) -> None:
    entries = [entry(i, labels={"car": 1}, matches=(track("car", i, i + 1, 1),)) for i in range(7)]
    for e in entries:
        index.put(e)
    newest_first = [e.job_id for e in reversed(entries)]
    page = index.search(SearchQuery(label="car", limit=3, offset=3))
    assert page.total == 7
    assert [hit.job_id for hit in page.items] == newest_first[3:6]
    assert index.search(SearchQuery(label="car", limit=3, offset=7)).items == []


def test_matches_per_job_are_capped_in_time_order(index: SearchIndex) -> None:
    many = entry(1, labels={"car": 30}, matches=tuple(
        track("car", 1000 - 10 * i, 2000, i) for i in range(30)
    ))  # fmt: skip
    index.put(many)
    hit = index.search(SearchQuery(label="car", max_matches=4)).items[0]
    assert [m.track_id for m in hit.matches] == [29, 28, 27, 26]


def test_indexing_again_replaces_and_remove_forgets(index: SearchIndex) -> None:
    first = entry(1, labels={"dog": 1}, matches=(track("dog", 0, 9, 1),))
    index.put(first)
    index.put(first)
    again = IndexedJob(first.job_id, first.created_at, "renamed.mp4", None, {"cat": 1},
                       (track("cat", 0, 9, 2),))  # fmt: skip
    index.put(again)
    assert ids(index, label="dog") == []
    page = index.search(SearchQuery(label="cat"))
    assert page.total == 1 and page.items[0].filename == "renamed.mp4"
    assert page.items[0].matches == [track("cat", 0, 9, 2)]
    index.remove(first.job_id)
    index.remove(first.job_id)  # nothing left: no error
    assert index.search(SearchQuery(label="cat")).total == 0


def test_an_empty_index_answers_an_empty_page(index: SearchIndex) -> None:
    page = index.search(SearchQuery(text="anything"))
    assert (page.total, page.items) == (0, [])
