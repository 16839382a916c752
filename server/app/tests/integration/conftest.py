"""Fixtures for integration tests: empty databases on every backend we support.

PostgreSQL runs only when VIDEO_JOBS_TEST_POSTGRES_URL is set; each test then gets its
own schema (via the connection's search_path), dropped afterwards, so tests never see
each other's rows or tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from app.adapters.db.engine import build_engine, build_session_factory
from app.adapters.db.in_memory import InMemoryJobRepository
from app.adapters.db.migrate import migrate_to_head
from app.adapters.db.sqlalchemy_repository import SqlAlchemyJobRepository
from app.domain.ports import JobRepository

POSTGRES_URL_ENV = "VIDEO_JOBS_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_ENV) or None


needs_postgres = pytest.mark.skipif(postgres_url() is None, reason=f"{POSTGRES_URL_ENV} is not set")

# The SQL backends, for suites that need a real database.
SQL_BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.integration, id="sqlite"),
    pytest.param("postgres", marks=[pytest.mark.integration, needs_postgres], id="postgres"),
]


@contextmanager
def postgres_schema_url(base_url: str) -> Iterator[str]:
    """A URL whose connections default to a fresh, private schema; dropped on exit."""
    schema = f"vj_test_{uuid.uuid4().hex[:16]}"
    admin = build_engine(base_url, pool_size=1)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def empty_database(backend: str, folder: Path) -> Iterator[Engine]:
    """An engine on an empty (unmigrated) database of the given backend."""
    if backend == "sqlite":
        engine = build_engine(f"sqlite:///{folder / 'jobs.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    base = postgres_url()
    assert base is not None, f"{POSTGRES_URL_ENV} is needed for the postgres backend"
    with postgres_schema_url(base) as url:
        engine = build_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=SQL_BACKENDS)
def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on each SQL backend; migrations are the test's business."""
    with empty_database(request.param, tmp_path) as engine:
        yield engine


# Every JobRepository adapter: the contract suite and the per-adapter limit tests run on each.
REPOSITORY_BACKENDS = [pytest.param("memory", marks=pytest.mark.unit, id="memory"), *SQL_BACKENDS]


@pytest.fixture(params=REPOSITORY_BACKENDS)
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobRepository]:
    """A migrated, empty repository of each adapter: in-memory, SQLite, PostgreSQL."""
    if request.param == "memory":
        yield InMemoryJobRepository()
        return
    with empty_database(request.param, tmp_path) as engine:
        migrate_to_head(engine)
        yield SqlAlchemyJobRepository(build_session_factory(engine))
