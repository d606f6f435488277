"""`manage.py up --blocks` rides out a PostgreSQL outage and an RPC outage with nobody's help."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import requests

from devnet.controller import LocalDevnet
from db.cluster import PrivateCluster
from tests.test_local_up import assert_each_action_landed_once, summary_of

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
OUTAGE_SECONDS = 20.0


def _count(url: str, table: str) -> int | None:
    """Rows in `table`, or None while the database is unreachable."""
    try:
        connection = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return cursor.fetchone()[0]
    except psycopg2.Error:
        return None
    finally:
        connection.close()


def _wait_for_rows(url: str, table: str, at_least: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 600
    while (_count(url, table) or 0) < at_least:
        assert process.poll() is None, "up exited early"
        assert time.monotonic() < deadline, f"no {at_least} rows in {table}"
        time.sleep(0.5)


def _hold_down(run_dir: Path, name: str, signum: int) -> None:
    """Stop child `name` each time the supervisor brings it back, for OUTAGE_SECONDS."""
    deadline = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < deadline:
        try:
            os.killpg(int((run_dir / f"{name}.pid").read_text()), signum)
        except (ProcessLookupError, FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)


class Prober(threading.Thread):
    """Asks the API every half second until stopped; keeps every status it got."""

    def __init__(self, api_url: str):
        super().__init__(daemon=True)
        self.api_url, self.statuses, self.stopping = api_url, [], threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for path in ("/health", "/poolers"):
                try:
                    self.statuses.append(requests.get(f"{self.api_url}/api/v1{path}", timeout=30).status_code)
                except requests.RequestException:
                    self.statuses.append("unreachable")


def test_up_rides_out_a_database_outage_and_an_rpc_outage(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="kalepool-up-outage-"))
    os.chmod(root, 0o755)  # the postgres user must reach the private cluster when we are root
    env = {**os.environ, "KALEPOOL_STATE_DIR": str(root), "KALEPOOL_NETWORK": "devnet"}
    for name in ("DATABASE_URL", "KALEPOOL_RPC_URL"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "up", "--blocks", "3", "--farmers", "2",
                                "--block-seconds", "45"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while not (root / "postgres.password").exists() or not (root / "up.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, "".join(output)[-3000:]
            time.sleep(0.5)
        url = PrivateCluster(root / "postgres").url
        api_port = json.loads((root / "up.json").read_text())["api_port"]
        prober = Prober(f"http://127.0.0.1:{api_port}")
        prober.start()
        # The RPC goes away just after the first plant (the block waits: ledgers stop with it) ...
        _wait_for_rows(url, "plantings", 1, process)
        _hold_down(root / "run", "devnet", signal.SIGTERM)
        # ... and the database once the first farmer has asked to leave, just after a plant.
        _wait_for_rows(url, "farmers WHERE status <> 'active'", 1, process)
        _wait_for_rows(url, "plantings", _count(url, "plantings") + 1, process)
        _hold_down(root / "run", "postgres", signal.SIGINT)
        process.wait(timeout=900)
        prober.stopping.set()
        prober.join()
        reader.join(timeout=10)
        summary = summary_of("".join(output))
        assert process.returncode == 0, "".join(output)[-3000:]
        assert summary["ok"] and summary["discrepancies"] == 0 and summary["blocks"] == 3
        assert 500 not in prober.statuses and 503 in prober.statuses, prober.statuses
        cluster = PrivateCluster(root / "postgres").start()
        devnet = LocalDevnet(root / "devnet", close_interval=0).start()  # the chain up left behind
        try:
            assert_each_action_landed_once(cluster.url, devnet.rpc_url)
        finally:
            devnet.stop()
            cluster.stop()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
        shutil.rmtree(root, ignore_errors=True)
