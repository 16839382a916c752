"""Alembic migrations on SQLite (and PostgreSQL when configured): the contract's table
from 0001, the reliability columns from 0002, later (additive) revisions up to head, a
clean way down, and the operator's
`alembic upgrade head` from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from app.adapters.db.engine import build_engine, build_session_factory
from app.adapters.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    migrate_to_head,
    wait_for_schema,
)
from app.adapters.db.orm import UTCDateTime
from app.adapters.db.sqlalchemy_repository import SqlAlchemyJobRepository
from app.domain.model import JobStatus, utcnow

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[4]
CONTRACT_COLUMNS = {
    "job_id",
    "status",
    "created_at",
    "updated_at",
    "pipeline_id",
    "input_path",
    "output_path",
    "error_message",
}
RELIABILITY_COLUMNS = {"attempts", "heartbeat_at"}


def run_alembic(engine: Engine, action: str, revision: str) -> None:
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def columns(engine: Engine) -> dict[str, dict]:
    return {c["name"]: c for c in sa.inspect(engine).get_columns("jobs")}


def test_the_first_migration_creates_exactly_the_contract_columns(sql_engine: Engine) -> None:
    run_alembic(sql_engine, "upgrade", "0001")
    found = columns(sql_engine)
    assert set(found) == CONTRACT_COLUMNS
    assert sa.inspect(sql_engine).get_pk_constraint("jobs")["constrained_columns"] == ["job_id"]
    nullable = {name for name, column in found.items() if column["nullable"]}
    assert nullable == {"output_path", "error_message"}
    assert current_revision(sql_engine) == "0001"


def test_0002_adds_the_attempt_counter_and_the_heartbeat(sql_engine: Engine) -> None:
    run_alembic(sql_engine, "upgrade", "0002")
    found = columns(sql_engine)
    assert set(found) == CONTRACT_COLUMNS | RELIABILITY_COLUMNS
    assert not found["attempts"]["nullable"] and found["heartbeat_at"]["nullable"]


def test_head_keeps_every_contract_column(sql_engine: Engine) -> None:
    """Later migrations may add columns; none removes these."""
    migrate_to_head(sql_engine)
    assert set(columns(sql_engine)) >= CONTRACT_COLUMNS | RELIABILITY_COLUMNS
    assert current_revision(sql_engine) == head_revision()


def test_rows_from_before_0002_survive_it_with_no_attempts(sql_engine: Engine) -> None:
    run_alembic(sql_engine, "upgrade", "0001")
    phase16 = sa.Table(
        "jobs",
        sa.MetaData(),
        sa.Column("job_id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.String),
        sa.Column("created_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime),
        sa.Column("pipeline_id", sa.String),
        sa.Column("input_path", sa.String),
    )
    job_id, now = uuid.uuid4(), utcnow()
    with sql_engine.begin() as conn:
        conn.execute(
            phase16.insert().values(
                job_id=job_id,
                status="completed",
                created_at=now,
                updated_at=now,
                pipeline_id="motion",
                input_path=f"video_jobs/{job_id}.mp4",
            )
        )
    migrate_to_head(sql_engine)
    job = SqlAlchemyJobRepository(build_session_factory(sql_engine)).get(job_id)
    assert (job.status, job.created_at, job.attempts, job.heartbeat_at) == (
        JobStatus.COMPLETED,
        now,
        0,
        None,
    )


def test_downgrade_to_base_and_upgrade_again(sql_engine: Engine) -> None:
    migrate_to_head(sql_engine)
    at_head = set(columns(sql_engine))
    run_alembic(sql_engine, "downgrade", "base")
    assert set(sa.inspect(sql_engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(sql_engine) is None
    migrate_to_head(sql_engine)
    migrate_to_head(sql_engine)  # at head already: nothing to do, nothing breaks
    assert set(columns(sql_engine)) == at_head
    SqlAlchemyJobRepository(build_session_factory(sql_engine)).ping()


def test_wait_for_schema_returns_once_the_database_is_at_head(sql_engine: Engine) -> None:
    migrate_to_head(sql_engine)
    assert wait_for_schema(sql_engine, should_stop=lambda: False) is True


def test_wait_for_schema_gives_up_when_told_to_stop(sql_engine: Engine) -> None:
    asked: list[bool] = []

    def stop_on_second_ask() -> bool:
        asked.append(True)
        return len(asked) > 1

    assert wait_for_schema(sql_engine, should_stop=stop_on_second_ask) is False
    assert "jobs" not in sa.inspect(sql_engine).get_table_names()


def test_wait_for_schema_gives_up_after_its_timeout(sql_engine: Engine) -> None:
    assert wait_for_schema(sql_engine, timeout=0.3) is False
    assert "jobs" not in sa.inspect(sql_engine).get_table_names()


def test_alembic_upgrade_head_from_the_repo_root(tmp_path: Path) -> None:
    assert (REPO_ROOT / "alembic.ini").is_file()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("VIDEO_JOBS_")}
    # An empty URL means "the default under DATA_DIR", even if a stray .env names another.
    env |= {"VIDEO_JOBS_DATA_DIR": str(tmp_path / "data"), "VIDEO_JOBS_DATABASE_URL": ""}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = build_engine(f"sqlite:///{tmp_path / 'data' / 'jobs.db'}")
    try:
        assert current_revision(engine) == head_revision()
        assert set(columns(engine)) >= CONTRACT_COLUMNS | RELIABILITY_COLUMNS
    finally:
        engine.dispose()
