"""Alembic environment: the URL comes from Settings, the metadata from the ORM adapter."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from app.adapters.db.engine import build_engine
from app.adapters.db.orm import metadata
from app.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_offline() -> None:
    context.configure(
        url=Settings().database_url, target_metadata=metadata, literal_binds=True,
        render_as_batch=True,
    )  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed in by app.adapters.db.migrate
        _run(connection)
        return
    engine = build_engine(Settings().database_url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
