"""The scheduler process through a database outage: the leader exits 3, a standby waits it out."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.served_api import stoppable_postgres

ROOT = Path(__file__).resolve().parent.parent


def _scheduler(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "KALEPOOL_NETWORK": "devnet", "KALEPOOL_STATE_DIR": str(log.parent),
           "KALEPOOL_RPC_URL": "http://127.0.0.1:9/rpc", "KALEPOOL_JOB_INTERVAL_SECONDS": "0.5"}
    return subprocess.Popen([sys.executable, "manage.py", "scheduler"], cwd=ROOT, env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def _wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, f"no {text!r} in {log.read_text()[-2000:]}"
        time.sleep(0.2)


def test_a_leader_that_loses_its_database_exits_3_and_a_standby_leads_once_it_is_back(tmp_path):
    with stoppable_postgres() as cluster:
        leader = _scheduler(cluster.url, tmp_path / "leader.log")
        try:
            _wait_for_line(tmp_path / "leader.log", "scheduler is the leader", leader)
            cluster.stop()
            assert leader.wait(timeout=120) == 3
            standby = _scheduler(cluster.url, tmp_path / "standby.log")
            try:
                time.sleep(2)  # it starts while the database is down, and must not give up
                assert standby.poll() is None, (tmp_path / "standby.log").read_text()[-2000:]
                cluster.start()
                _wait_for_line(tmp_path / "standby.log", "scheduler is the leader", standby)
            finally:
                standby.terminate()
                assert standby.wait(timeout=60) == 0
        finally:
            if leader.poll() is None:
                leader.kill()
                leader.wait()
