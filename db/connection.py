"""The one database handle every model uses, bound to a URL lazily (after gunicorn forks).

`database` is a peewee DatabaseProxy: importing models opens nothing. A process
calls `init_database(url)` once it knows its settings (the API does so inside
`create_app`, which gunicorn runs in each worker); the pool then connects on
first use, so no connection is ever shared across a fork.
"""
from __future__ import annotations

from typing import Any

from peewee import DatabaseProxy
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase

database = DatabaseProxy()

DEFAULT_POOL_SIZE = 8
STALE_SECONDS = 300
CHECKOUT_TIMEOUT_SECONDS = 10


def connect_kwargs(url: str) -> dict[str, Any]:
    """psycopg2 keyword arguments for a postgres:// or postgresql:// URL."""
    kwargs = parse(url)
    kwargs.setdefault("host", "127.0.0.1")
    return kwargs


def init_database(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> PooledPostgresqlDatabase:
    """Bind `database` to a pool on `url` (replacing any earlier binding) and return it.

    Every connection works in UTC, so timestamps read back alike in every process.
    """
    close_database()
    kwargs = connect_kwargs(url)
    name = kwargs.pop("database")
    pooled = PooledPostgresqlDatabase(name, options="-c timezone=UTC", max_connections=pool_size, stale_timeout=STALE_SECONDS,
                              timeout=CHECKOUT_TIMEOUT_SECONDS, **kwargs)
    database.initialize(pooled)
    return pooled


def close_database() -> None:
    """Close every pooled connection of the current binding, if there is one."""
    if database.obj is not None:
        database.obj.close_all()
