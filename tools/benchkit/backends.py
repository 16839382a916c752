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
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/{name}"


@dataclass
class Backend:
    name: str
    settings: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None  # why it could not run


def redis_problem() -> str | None:
    """Why the local Redis cannot be used, or None when it answers PING."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at 127.0.0.1:6379 did not answer: {exc}"
    finally:
        client.close()
    return None


@contextmanager
def embedded() -> Iterator[Backend]:
    yield Backend("SQLite + Manager queue (default)")


@contextmanager
def redis_postgres() -> Iterator[Backend]:
    """A unique Redis queue name and a fresh PostgreSQL database, dropped on exit."""
    name = "Redis + PostgreSQL"
    if problem := redis_problem():
        yield Backend(name, skipped=problem)
        return
    try:
        import psycopg
    except ImportError:
        yield Backend(name, skipped="psycopg is not installed (pip install -e .[postgres])")
        return
    suffix = uuid.uuid4().hex[:12]
    database, queue_name = f"bench_{suffix}", f"bench_{suffix}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        yield Backend(name, skipped=f"PostgreSQL at 127.0.0.1:5432 did not answer: {exc}")
        return
    try:
        admin.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error as exc:
        admin.close()
        yield Backend(name, skipped=f"could not create a throwaway database: {exc}")
        return
    try:
        yield Backend(
            name,
            {
                "queue_url": REDIS_URL,
                "queue_name": queue_name,
                "database_url": POSTGRES_URL.format(name=database),
            },
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        _delete_redis_keys(queue_name)


def _delete_redis_keys(queue_name: str) -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        keys = list(client.scan_iter(match=f"{queue_name}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
