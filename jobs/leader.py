"""Single leadership through a PostgreSQL advisory lock held on a connection of its own.

The lock lives as long as that session: if the leader dies, PostgreSQL releases it and
a standby's next try takes it over within its polling interval.
"""
from __future__ import annotations

import psycopg2

from db.connection import connect_kwargs

# "kalesch1" in ASCII: no other kalepool lock uses this key.
SCHEDULER_LOCK_KEY = 0x6B616C6573636831


class Leadership:
    """Try to become, and check that we still are, the one leader for `key`."""

    def __init__(self, database_url: str, key: int = SCHEDULER_LOCK_KEY):
        self.key = key
        self.database_url = database_url
        self.connection = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process leads (False while the database is
        unreachable: a standby rides out an outage and tries again)."""
        try:
            if self.connection is None or self.connection.closed:
                self.connection = psycopg2.connect(**connect_kwargs(self.database_url), connect_timeout=5)
                self.connection.autocommit = True
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                return bool(cursor.fetchone()[0])
        except psycopg2.Error:
            self.release()
            return False

    def still_leader(self) -> bool:
        """True while our session still holds the lock (checked before each job writes)."""
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = %s",
                    (self.key & 0xFFFFFFFFFFFFFFFF,))
                return cursor.fetchone()[0] > 0
        except psycopg2.Error:
            return False

    def release(self) -> None:
        """Give up leadership and close the lock connection."""
        try:
            if self.connection is not None:
                self.connection.close()
        except psycopg2.Error:
            pass
        self.connection = None
