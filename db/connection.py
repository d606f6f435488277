"""The one database handle every model uses, bound to a URL lazily (after gunicorn forks).

`database` is a peewee DatabaseProxy: importing models opens nothing. A process
calls `init_database(url)` once it knows its settings (the API does so inside
`create_app`, which gunicorn runs in each worker); the pool then connects on
first use, so no connection is ever shared across a fork.
"""
from __future__ import annotations

import select
from typing import Any

from peewee import DatabaseProxy, InterfaceError, OperationalError
from playhouse.db_url import parse
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

database = DatabaseProxy()

DEFAULT_POOL_SIZE = 8
STALE_SECONDS = 300
CHECKOUT_TIMEOUT_SECONDS = 10

# What a query raises when PostgreSQL is down, restarting or out of connections: try again later.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, MaxConnectionsExceeded)


class ResilientPool(PooledPostgresqlDatabase):
    """A connection pool that never hands out a connection the server has hung up on.

    After PostgreSQL restarts, every idle pooled connection is dead but looks open; the
    server's goodbye (or EOF) is waiting on its socket, so a zero-timeout poll finds it
    without a round trip and the pool opens a fresh connection instead.
    """

    def _is_closed(self, conn: Any) -> bool:
        return conn.closed or server_hung_up(conn) or super()._is_closed(conn)


def server_hung_up(conn: Any) -> bool:
    """Whether an idle connection has something to read: only a server that closed it sends unasked."""
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return bool(readable)


def connect_kwargs(url: str) -> dict[str, Any]:
    """psycopg2 keyword arguments for a postgres:// or postgresql:// URL."""
    kwargs = parse(url)
    kwargs.setdefault("host", "127.0.0.1")
    return kwargs


def init_database(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> ResilientPool:
    """Bind `database` to a pool on `url` (replacing any earlier binding) and return it.

    Every connection works in UTC, so timestamps read back alike in every process.
    """
    close_database()
    kwargs = connect_kwargs(url)
    name = kwargs.pop("database")
    pooled = ResilientPool(name, options="-c timezone=UTC", max_connections=pool_size,
                           stale_timeout=STALE_SECONDS, timeout=CHECKOUT_TIMEOUT_SECONDS, **kwargs)
    database.initialize(pooled)
    return pooled


def close_database() -> None:
    """Close every pooled connection of the current binding, if there is one."""
    if database.obj is not None:
        database.obj.close_all()


def drop_connection() -> None:
    """Give up this thread's connection after a database error, so its next query opens a fresh one
    (a long-lived loop would otherwise keep failing on a connection the server has closed)."""
    try:
        if database.obj is not None and not database.is_closed():
            database.close()
    except DATABASE_UNAVAILABLE:
        pass
