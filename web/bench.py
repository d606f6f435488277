"""`manage.py bench api`: gunicorn and a load generator on loopback; requests/s and p50/p99 latency.

Everything is throw-away: a private PostgreSQL in a temp dir, one pooler and
one farmer, `manage.py serve`'s gunicorn command, and an asyncio client that
keeps `--concurrency` requests in flight. The rate limit is lifted for the run.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click
import requests
from stellar_sdk import Keypair

from config import load_settings
from db.cluster import PrivateCluster, free_port
from db.migrate import migrate
from web.cli import gunicorn_command
from web.metrics import MULTIPROC_ENV

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Result:
    """One endpoint's figures."""

    path: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def _one(port: int, request: bytes) -> tuple[float, bool]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = await reader.read()
    writer.close()
    return time.perf_counter() - started, answer.startswith(b"HTTP/1.1 200")


async def _load(port: int, path: str, headers: dict[str, str], total: int, concurrency: int) -> Result:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors = 0
    remaining = total

    async def client() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            latency, ok = await _one(port, request)
            latencies.append(latency)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Result(path, total, errors, time.perf_counter() - started, latencies)


def _populate(url: str, state_dir: Path) -> str:
    """A pooler and one registered farmer; returns the farmer's token."""
    from web.accounts import create_pooler
    from web.app import create_app

    settings = load_settings(environ={}, database_url=url, state_dir=str(state_dir))
    app = create_app(settings)
    with app.app_context():
        pooler, _ = create_pooler("bench", Keypair.random().public_key, 5000, 100)
        response = app.test_client().post("/api/v1/farmers", json={
            "payout_address": Keypair.random().public_key, "pooler_id": pooler.id, "stake_bps": 5000})
    return response.get_json()["api_token"]


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException(f"gunicorn exited with status {server.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException("gunicorn did not answer within 30 s")


@click.command("api")
@click.option("--requests", "total", type=click.IntRange(100, 1_000_000), default=5000, show_default=True,
              help="Requests per endpoint.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn workers.")
def bench_api(total: int, concurrency: int, workers: int) -> None:
    """Requests/s and p50/p99 latency of GET /farmers/me and GET /poolers under gunicorn."""
    root = Path(tempfile.mkdtemp(prefix="kalepool-bench-"))
    os.chmod(root, 0o755)  # the postgres user must reach the cluster when we are root
    cluster = PrivateCluster(root / "postgres").start()
    server = None
    try:
        migrate(cluster.url)
        token = _populate(cluster.url, root / "state")
        port = free_port()
        (root / "metrics").mkdir()
        env = {**os.environ, "DATABASE_URL": cluster.url, "KALEPOOL_STATE_DIR": str(root / "state"),
               "KALEPOOL_NETWORK": "devnet", "KALEPOOL_API_RATE_LIMIT_PER_MINUTE": "10000000",
               MULTIPROC_ENV: str(root / "metrics")}
        server = subprocess.Popen(gunicorn_command("127.0.0.1", port, workers, 30), cwd=ROOT, env=env)
        _wait_until_up(port, server)
        targets = [("/api/v1/farmers/me", {"Authorization": f"Bearer {token}"}), ("/api/v1/poolers", {})]
        for path, headers in targets:  # warm every worker's connection pool and caches
            asyncio.run(_load(port, path, headers, 200, concurrency))
        click.echo(f"gunicorn {workers} workers, {concurrency} concurrent clients, {total} requests each, "
                   f"{os.cpu_count()} CPUs")
        for path, headers in targets:
            result = asyncio.run(_load(port, path, headers, total, concurrency))
            click.echo(f"GET {path:<22} {result.rate:8.0f} req/s   p50 {result.percentile(0.5) * 1000:6.2f} ms   "
                       f"p99 {result.percentile(0.99) * 1000:6.2f} ms   errors {result.errors}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
