"""`manage.py db`: apply migrations and show where the schema is; `open_database` for other commands."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import click
import psycopg2
from peewee import DatabaseError

from config import Settings, load_settings
from db import migrate as migrations
from db.cluster import ClusterError, database_url, database_url_for_once
from db.connection import init_database


def database_url_or_exit(settings: Settings) -> str:
    """The pool's database URL (starting the private cluster if that is the one); ClickException if it can't."""
    try:
        return database_url(settings)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None


# what an unreachable server or a failing statement raises, through peewee or psycopg2 directly
DATABASE_ERRORS = (psycopg2.Error, DatabaseError)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@click.group()
def db() -> None:
    """Database schema: migrate, status."""


def apply_migrations(url: str) -> list[migrations.Migration]:
    """Apply pending migrations, echoing each; a ClickException (one line) when one fails."""
    try:
        applied = migrations.migrate(url)
    except (migrations.MigrationError, *DATABASE_ERRORS) as exc:
        raise click.ClickException(_first_line(exc)) from None
    for migration in applied:
        click.echo(f"applied {migration.version:04d}_{migration.name}")
    return applied


@contextmanager
def _once_url() -> Iterator[str]:
    """The database URL for one command; a private cluster started for it is stopped after it."""
    try:
        with database_url_for_once(load_settings()) as url:
            yield url
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None


@db.command()
def migrate() -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    with _once_url() as url:
        applied = apply_migrations(url)
    click.echo("schema is up to date" if applied else "nothing to apply: schema is up to date")


@db.command()
def status() -> None:
    """List every migration and whether it is applied."""
    try:
        with _once_url() as url:
            states = migrations.status(url)
    except DATABASE_ERRORS as exc:
        raise click.ClickException(_first_line(exc)) from None
    for state in states:
        when = state.applied_at.isoformat(timespec="seconds") if state.applied_at else "pending"
        note = "" if state.known else "  (recorded in the database; no such file here)"
        click.echo(f"{state.migration.version:04d}_{state.migration.name:<30} {when}{note}")
    pending = sum(1 for state in states if state.applied_at is None)
    click.echo(f"{len(states) - pending} applied, {pending} pending")


def open_database(settings: Settings, pool_size: int = 2) -> str:
    """Bind the models to the pool's database for a CLI command and return its URL.

    A ClickException (one line) when the server is unreachable or migrations are pending.
    """
    url = database_url_or_exit(settings)
    try:
        pending = [state for state in migrations.status(url) if state.applied_at is None]
    except DATABASE_ERRORS as exc:
        raise click.ClickException(f"database unreachable: {_first_line(exc)}") from None
    if pending:
        raise click.ClickException(f"the database schema has {len(pending)} pending migration(s): "
                                   "run `manage.py db migrate` first")
    init_database(url, pool_size=pool_size)
    return url
