"""Figure 7 setups: the embedded default, and Redis + PostgreSQL on this machine.

The Redis setup uses a queue name of its own and the PostgreSQL one a throwaway
database, both removed afterwards, so the run never touches anyone else's data. A
server that does not answer is skipped with a note, not an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/{name}"


@dataclass
class Backend:
    name: str
    settings: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None  # why it could not run


@contextmanager
def embedded() -> Iterator[Backend]:
    yield Backend("SQLite + Manager queue (default)")


@contextmanager
def redis_postgres() -> Iterator[Backend]:
    """A unique Redis queue name and a fresh PostgreSQL database, dropped on exit."""
    name, suffix = "Redis + PostgreSQL", uuid.uuid4().hex[:12]
    queue_name = database = f"bench_{suffix}"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=10)
    try:
        import psycopg  # the postgres extra: pip install -e .[postgres]

        client.ping()
        admin = psycopg.connect(
            POSTGRES_URL.format(name="test"), autocommit=True, connect_timeout=3
        )
    except Exception as exc:  # no psycopg, or a server that does not answer: skipped
        client.close()
        yield Backend(name, skipped=f"Redis or PostgreSQL on 127.0.0.1 unavailable: {exc}")
        return
    admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = POSTGRES_URL.format(name=database)
        yield Backend(name, {"queue_url": REDIS_URL, "queue_name": queue_name, "database_url": url})
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        if keys := list(client.scan_iter(match=f"{queue_name}:*")):
            client.delete(*keys)
        client.close()
