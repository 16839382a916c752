"""Run Alembic from code (API start-up, tests) and wait for the schema (workers)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

log = logging.getLogger(__name__)

# server/app/adapters/db/migrate.py -> server/migrations
MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"
_lock = threading.Lock()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["configure_logger"] = False
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate_to_head(engine: Engine) -> None:
    """Upgrade the database to head; a no-op when it is there already."""
    with _lock, engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def wait_for_schema(
    engine: Engine,
    should_stop=lambda: False,
    max_delay: float = 5.0,
    timeout: float | None = None,
) -> bool:
    """Block until the database is at head (the API migrates it); False if told to stop
    or when `timeout` seconds pass first."""
    head = head_revision()
    delay = 0.2
    deadline = None if timeout is None else time.monotonic() + timeout
    while not should_stop() and (deadline is None or time.monotonic() < deadline):
        try:
            if current_revision(engine) == head:
                return True
            log.info("waiting for the database schema to reach %s", head)
        except Exception as exc:  # the database may not exist yet
            log.info("waiting for the database: %s", exc)
        time.sleep(delay)
        delay = min(delay * 2, max_delay)
    return False
