"""Versioned schema migrations: `db/migrations/NNNN_name.py` modules with an `up(database)`.

Each pending migration runs in its own transaction together with its row in
`schema_migrations`, all under one PostgreSQL advisory lock, so any number of
processes may call `migrate` at once and each migration is applied exactly once.
Adding a migration is dropping a new numbered file into db/migrations/.
"""
from __future__ import annotations

import datetime
import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

from peewee import PostgresqlDatabase

from db import migrations as migrations_package
from db.connection import connect_kwargs

# An arbitrary constant that no other kalepool lock uses ("kalemigr" in ASCII).
MIGRATION_LOCK_KEY = 0x6B616C656D696772
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)$")


class MigrationError(RuntimeError):
    """The migration files are inconsistent, or one of them failed; the message says which."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str

    @property
    def module_name(self) -> str:
        return f"{migrations_package.__name__}.{self.version:04d}_{self.name}"

    def load(self) -> ModuleType:
        module = importlib.import_module(self.module_name)
        if not callable(getattr(module, "up", None)):
            raise MigrationError(f"{self.module_name} has no up(database) function")
        return module


@dataclass(frozen=True)
class MigrationState:
    """A migration, when it was applied (None: pending), and whether this code base has its file."""

    migration: Migration
    applied_at: datetime.datetime | None
    known: bool = True


def discover() -> list[Migration]:
    """Every migration file, in version order; two files with one number are an error."""
    found: dict[int, Migration] = {}
    for info in pkgutil.iter_modules(migrations_package.__path__):
        match = _NAME.match(info.name)
        if not match:
            continue
        migration = Migration(int(match.group(1)), match.group(2))
        if migration.version in found:
            raise MigrationError(f"two migrations numbered {migration.version:04d}: "
                                 f"{found[migration.version].name} and {migration.name}")
        found[migration.version] = migration
    return [found[version] for version in sorted(found)]


def _open(url: str) -> PostgresqlDatabase:
    kwargs = connect_kwargs(url)
    database = PostgresqlDatabase(kwargs.pop("database"), options="-c timezone=UTC", **kwargs)
    database.connect()
    return database


def _ensure_table(database: PostgresqlDatabase) -> None:
    database.execute_sql("""
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )""")


def migrate(url: str) -> list[Migration]:
    """Apply every pending migration to the database at `url`; return those applied now."""
    pending = discover()
    database = _open(url)
    try:
        database.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            _ensure_table(database)
            done = {row[0] for row in database.execute_sql("SELECT version FROM schema_migrations")}
            applied_now = []
            for migration in pending:
                if migration.version in done:
                    continue
                module = migration.load()
                try:
                    with database.atomic():
                        module.up(database)
                        database.execute_sql("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                                             (migration.version, migration.name))
                except Exception as exc:
                    raise MigrationError(f"migration {migration.version:04d}_{migration.name} failed: "
                                         f"{type(exc).__name__}: {exc}".strip()) from exc
                applied_now.append(migration)
            return applied_now
        finally:
            database.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    finally:
        database.close()


def status(url: str) -> list[MigrationState]:
    """Every migration, known or only recorded, in version order, with when it was applied."""
    database = _open(url)
    try:
        exists = database.execute_sql("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
        rows = database.execute_sql("SELECT version, name, applied_at FROM schema_migrations").fetchall() \
            if exists else []
    finally:
        database.close()
    states = {m.version: MigrationState(m, None, known=True) for m in discover()}
    for version, name, applied_at in rows:
        known = version in states
        migration = states[version].migration if known else Migration(version, name)
        states[version] = MigrationState(migration, applied_at, known=known)
    return [states[version] for version in sorted(states)]
