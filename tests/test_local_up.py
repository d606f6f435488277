"""`manage.py up --blocks`: the whole pool farms, settles an exit exactly, and survives SIGKILLs."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devnet.controller import LocalDevnet
from db.attempts import TxAttempt
from db.connection import init_database
from db.models import TxIntent

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def start_up(database_url: str, state_dir: Path, *args: str, protocol: int = 23) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "KALEPOOL_STATE_DIR": str(state_dir),
           "KALEPOOL_NETWORK": "devnet", "KALEPOOL_DEVNET_PROTOCOL": str(protocol)}
    env.pop("KALEPOOL_RPC_URL", None)
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "up", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def last_header(devnet_state: Path):
    """The header of the last ledger the devnet `up` ran closed (read by hand: any protocol)."""
    from chain.ledger_header import read_header

    with sqlite3.connect(devnet_state / "devnet.sqlite3") as chain_db:
        header, = chain_db.execute("SELECT header FROM ledgers ORDER BY seq DESC LIMIT 1").fetchone()
    return read_header(bytes(header))


def summary_of(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def assert_each_action_landed_once(database_url: str, rpc_url: str) -> None:
    from chain.rpc import ChainClient
    from config import load_settings

    init_database(database_url)
    client = ChainClient(load_settings({}, rpc_url=rpc_url).network)
    for intent in TxIntent.select():
        landed = [a for a in TxAttempt.select().where(TxAttempt.intent == intent.id)
                  if client.transaction(a.tx_hash).status.value != "NOT_FOUND"]
        assert len(landed) <= 1, f"{intent.idempotency_key} landed {len(landed)} times"


@pytest.mark.parametrize("protocol", [23, 30])
def test_up_farms_blocks_with_two_poolers_settles_an_exit_and_audits_clean(create_database, tmp_path, protocol):
    """The whole pool on a protocol-23 devnet and on a protocol-30 one (CAP-88 headers the Python SDK
    cannot decode): the same blocks farmed, the same exit settled, the same clean audit."""
    database_url = create_database()
    process = start_up(database_url, tmp_path, "--blocks", "2", "--farmers", "4", "--poolers", "2",
                       "--block-seconds", "15", protocol=protocol)
    output, _ = process.communicate(timeout=600)
    summary = summary_of(output)
    assert process.returncode == 0, output[-3000:]
    assert summary["ok"] is True
    assert summary["blocks"] == 2 and summary["farmers"] == 4
    assert summary["planted"] == summary["worked"] == summary["harvested"] >= 6
    assert summary["settlements"] == 1 and summary["discrepancies"] == 0
    assert summary["kale_minted"] > 0
    assert last_header(tmp_path / "devnet").protocol_version == protocol


def test_up_survives_sigkills_of_every_process_without_sending_anything_twice(create_database, tmp_path):
    database_url = create_database()
    process = start_up(database_url, tmp_path, "--blocks", "4", "--farmers", "3", "--block-seconds", "20")
    run_dir = tmp_path / "run"
    victims = ["scheduler", "indexer", "api", "pooler-1", "scheduler", "api", "indexer", "pooler-1", "devnet"]
    kills = 0
    rng = random.Random(7)
    deadline = time.monotonic() + 600
    while victims and process.poll() is None and time.monotonic() < deadline:
        time.sleep(rng.uniform(4, 9))
        pid_file = run_dir / f"{victims[0]}.pid"
        if not pid_file.exists():
            continue
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
            kills += 1
        except ProcessLookupError:
            pass
        victims.pop(0)
    output, _ = process.communicate(timeout=max(60, deadline - time.monotonic()))
    print(f"survived {kills} SIGKILLs")
    summary = summary_of(output)
    assert process.returncode == 0, output[-3000:]
    assert summary["ok"] and summary["discrepancies"] == 0
    assert kills >= 8
    devnet = LocalDevnet(tmp_path / "devnet", close_interval=0).start()  # the chain up left behind
    try:
        assert_each_action_landed_once(database_url, devnet.rpc_url)
    finally:
        devnet.stop()
