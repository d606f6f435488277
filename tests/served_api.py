"""The API as operators run it: `manage.py serve` (the buffering front and gunicorn) in a subprocess.

Tests that claim something of the served API use `served_api(...)`; it yields the base URL
and stops the whole process group afterwards. `stoppable_postgres` is a private cluster a
test may stop and start again on the same port (an outage).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from config.ports import free_port
from db.cluster import PrivateCluster
from db.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE_RPC = "http://127.0.0.1:9/rpc"


@contextmanager
def served_api(database_url: str, state_dir: Path, *, rpc_url: str = UNREACHABLE_RPC, workers: int = 2,
               env: dict[str, str] | None = None) -> Iterator[str]:
    """`manage.py serve` on a free port; yields http://127.0.0.1:PORT/api/v1."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "KALEPOOL_STATE_DIR": str(state_dir),
                   "KALEPOOL_NETWORK": "devnet", "KALEPOOL_RPC_URL": rpc_url, **(env or {})}
    log = open(Path(state_dir).parent / f"serve-{port}.log", "wb") if Path(state_dir).parent.exists() else None
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--workers", str(workers)],
                              cwd=ROOT, env=environment, stdout=log or subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/info", timeout=10)
                break
            except requests.ConnectionError:
                assert server.poll() is None, f"serve exited with status {server.returncode}"
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if log is not None:
            log.close()


@contextmanager
def stoppable_postgres() -> Iterator[PrivateCluster]:
    """A throw-away migrated private cluster (fsync off) that a test may stop and start."""
    root = tempfile.mkdtemp(prefix="kalepool-outage-")
    os.chmod(root, 0o755)  # the postgres user must reach the data dir when we are root
    cluster = PrivateCluster(os.path.join(root, "data"), fast=True)
    try:
        cluster.start()
        migrate(cluster.url)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
