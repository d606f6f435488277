"""`manage.py serve` and `auditor`: run the API, make auditor tokens."""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from chain.custody import Custody
from config import load_settings
from config.ports import port_is_free
from db.cli import apply_migrations, database_url_or_exit, open_database
from web.accounts import AccountError, create_auditor
from web.app import THREADS_PER_WORKER
from web.front import FrontConfig, run_front
from web.metrics import MULTIPROC_ENV
from web.pooler_cli import account_name


UPSTREAM_START_SECONDS = 60.0
PR_SET_PDEATHSIG = 1


def gunicorn_command(socket_path: str, workers: int, timeout: int) -> list[str]:
    """gunicorn on a private unix socket: threaded workers (the app is built in each, after the fork)."""
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
            "--threads", str(THREADS_PER_WORKER), "--bind", f"unix:{socket_path}", "--timeout", str(timeout),
            "--graceful-timeout", "10", "--log-level", "warning", "web.app:create_app()"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65_535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="gunicorn worker processes (each with its own threads).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the JSON API: a buffering front on HOST:PORT before gunicorn (applies migrations first).

    The front reads each request whole, within KALEPOOL_API_HEADER_TIMEOUT_SECONDS and
    KALEPOOL_API_BODY_TIMEOUT_SECONDS, before a gunicorn worker thread sees it.
    """
    if not port_is_free(port, host):
        raise click.ClickException(f"port {port} on {host} is already in use: pick another with --port")
    settings = load_settings()
    Custody.from_settings(settings)  # refuse to start now, in one line, when the keyring is unacceptable
    url = database_url_or_exit(settings)
    apply_migrations(url)
    metrics_dir = Path(settings.state_dir) / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    private = tempfile.mkdtemp(prefix="kalepool-api-")  # mode 0700: only this user reaches the workers
    socket_path = os.path.join(private, "gunicorn.sock")
    env = {**os.environ, "DATABASE_URL": url, MULTIPROC_ENV: str(metrics_dir.absolute())}
    upstream_timeout = settings.tx_timeout_seconds + 30
    workers_process = subprocess.Popen(gunicorn_command(socket_path, workers, upstream_timeout), env=env,
                                       preexec_fn=_die_with_parent)
    try:
        _wait_for_socket(socket_path, workers_process)
        click.echo(f"serving the API on http://{host}:{port}/api/v1 with {workers} workers x "
                   f"{THREADS_PER_WORKER} threads", err=True)
        run_front(FrontConfig(host=host, port=port, upstream_socket=socket_path,
                              header_timeout=settings.api_header_timeout_seconds,
                              body_timeout=settings.api_body_timeout_seconds,
                              upstream_timeout=upstream_timeout, max_body_bytes=settings.api_max_body_bytes))
    finally:
        workers_process.terminate()
        workers_process.wait(timeout=30)
        shutil.rmtree(private, ignore_errors=True)


def _die_with_parent() -> None:
    """In the gunicorn child: be sent SIGTERM if serve dies, even by SIGKILL (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _wait_for_socket(path: str, process: subprocess.Popen) -> None:
    """Return once gunicorn accepts on `path`; a one-line error if it exits or takes too long."""
    deadline = time.monotonic() + UPSTREAM_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"gunicorn exited with status {process.returncode}")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
                return
            except OSError:
                time.sleep(0.1)
    raise click.ClickException(f"gunicorn did not listen within {UPSTREAM_START_SECONDS:.0f} s")


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
