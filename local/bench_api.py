"""`manage.py bench api`: `manage.py serve` and a load generator on loopback; requests/s and p50/p99 latency.

Everything is throw-away: a private PostgreSQL in a temp dir, a devnet (for /health),
one pooler and one farmer, `manage.py serve` (front and gunicorn), and an asyncio client
that keeps `--concurrency` requests in flight, optionally while `--slow-clients`
connections trickle unfinished requests. The rate limit is lifted for the run.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click
import requests
from stellar_sdk import Keypair

from devnet.controller import LocalDevnet
from config import load_settings
from config.ports import free_port
from db.cluster import PrivateCluster
from db.migrate import migrate
from web.app import THREADS_PER_WORKER

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


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException(f"serve exited with status {server.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"serve did not answer within {timeout:.0f} s")


async def _slow_client(port: int, stop: asyncio.Event, line_every: float) -> None:
    """Hold a connection open by trickling header lines, never finishing the request (reconnect when cut)."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not stop.is_set() and not reader.at_eof():
                await writer.drain()
                try:
                    await asyncio.wait_for(stop.wait(), line_every)
                except asyncio.TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")
            writer.close()
        except OSError:
            await asyncio.sleep(0.1)


async def _measure(port: int, targets: list[tuple[str, dict[str, str]]], total: int, concurrency: int,
                   slow_clients: int) -> list[Result]:
    """Each target's figures while `slow_clients` connections trickle their heads."""
    stop = asyncio.Event()
    holders = [asyncio.create_task(_slow_client(port, stop, 1.0)) for _ in range(slow_clients)]
    await asyncio.sleep(2.0 if slow_clients else 0.0)  # every slow client is connected and trickling
    try:
        return [await _load(port, path, headers, total, concurrency) for path, headers in targets]
    finally:
        stop.set()
        await asyncio.gather(*holders, return_exceptions=True)


@click.command("api")
@click.option("--requests", "total", type=click.IntRange(100, 1_000_000), default=5000, show_default=True,
              help="Requests per endpoint.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn workers.")
@click.option("--slow-clients", type=click.IntRange(0, 10_000), default=0, show_default=True,
              help="Connections that trickle a header line a second and never finish, held during the run.")
def bench_api(total: int, concurrency: int, workers: int, slow_clients: int) -> None:
    """Requests/s and p50/p99 latency of GET /health, /farmers/me and /poolers as `manage.py serve` runs."""
    root = Path(tempfile.mkdtemp(prefix="kalepool-bench-"))
    os.chmod(root, 0o755)  # the postgres user must reach the cluster when we are root
    cluster = PrivateCluster(root / "postgres").start()
    devnet = LocalDevnet(root / "devnet", close_interval=1.0).start()  # /health asks the RPC
    server = None
    try:
        migrate(cluster.url)
        token = _populate(cluster.url, root / "state")
        port = free_port()
        env = {**os.environ, "DATABASE_URL": cluster.url, "KALEPOOL_STATE_DIR": str(root / "state"),
               "KALEPOOL_NETWORK": "devnet", "KALEPOOL_RPC_URL": devnet.rpc_url,
               "KALEPOOL_API_RATE_LIMIT_PER_MINUTE": "10000000"}
        server = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port),
                                   "--workers", str(workers)], cwd=ROOT, env=env, start_new_session=True)
        _wait_until_up(port, server)
        targets = [("/api/v1/health", {}), ("/api/v1/farmers/me", {"Authorization": f"Bearer {token}"}),
                   ("/api/v1/poolers", {})]
        asyncio.run(_measure(port, targets, 200, concurrency, 0))  # warm every worker's pool and caches
        click.echo(f"manage.py serve: {workers} workers x {THREADS_PER_WORKER} threads behind the front; "
                   f"{concurrency} concurrent clients, {total} requests each, {slow_clients} slow clients, "
                   f"{os.cpu_count()} CPUs")
        for result in asyncio.run(_measure(port, targets, total, concurrency, slow_clients)):
            click.echo(f"GET {result.path:<22} {result.rate:8.0f} req/s   p50 {result.percentile(0.5) * 1000:6.2f} ms"
                       f"   p99 {result.percentile(0.99) * 1000:6.2f} ms   errors {result.errors}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        devnet.stop()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
