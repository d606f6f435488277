"""`manage.py serve`, `keys` and `auditor`: run the API, rotate the custody master key, make auditor tokens."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from chain.custody import Custody
from config import load_settings
from db.cli import apply_migrations, database_url_or_exit, open_database
from web.accounts import AccountError, create_auditor
from web.metrics import MULTIPROC_ENV
from web.pooler_cli import account_name
from web.rotation import rotate_master_key


def gunicorn_command(host: str, port: int, workers: int, timeout: int) -> list[str]:
    """The gunicorn command line that serves the API (the app is built in each worker, after the fork)."""
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{host}:{port}",
            "--timeout", str(timeout), "--graceful-timeout", "10", "--log-level", "warning",
            "web.app:create_app()"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65_535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="gunicorn worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the JSON API under gunicorn (applies pending migrations first)."""
    settings = load_settings()
    Custody.from_settings(settings)  # refuse to start now, in one line, when the keyring is unacceptable
    url = database_url_or_exit(settings)
    apply_migrations(url)
    metrics_dir = Path(settings.state_dir) / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {**os.environ, "DATABASE_URL": url, MULTIPROC_ENV: str(metrics_dir.absolute())}
    command = gunicorn_command(host, port, workers, settings.tx_timeout_seconds + 30)
    click.echo(f"serving the API on http://{host}:{port}/api/v1 with {workers} workers", err=True)
    os.execve(command[0], command, env)


@click.group()
def keys() -> None:
    """Custodial key management (master key rotation)."""


@keys.command()
def rotate() -> None:
    """Re-wrap every farmer's data key under a new master key, then retire the old one."""
    settings = load_settings()
    custody = Custody.from_settings(settings)
    open_database(settings)
    result = rotate_master_key(custody)
    click.echo(f"re-wrapped {result.rewrapped} data key(s) under master key {result.new_key_id} "
               f"in {custody.keystore.backend_name}; retired: {', '.join(result.retired) or 'none'}")


@click.group()
def auditor() -> None:
    """Manage auditor tokens."""


@auditor.command("create")
@click.option("--name", required=True, callback=account_name, help="Unique name of the auditor.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line with id and token.")
def create_auditor_command(name: str, as_json: bool) -> None:
    """Create a read-only auditor and print its token (once; only its hash is stored)."""
    open_database(load_settings())
    try:
        row, token = create_auditor(name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"id": row.id, "name": row.name, "token": token}))
    else:
        click.echo(f"auditor {row.id} ({row.name}) created")
        click.echo(f"token (shown once, keep it safe): {token}")
