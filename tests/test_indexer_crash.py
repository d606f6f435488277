"""kill -9 at random moments during a long ingestion, restart each time: the tables end up byte
for byte as one uninterrupted run leaves them."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from stellar_sdk import Asset, Payment

from db.chain_models import IndexerCursor
from db.connection import init_database
from db.migrate import migrate
from tests.indexer_history import ROOT, build_history, dump_chain_tables, envelope, pool_env, send_in_one_ledger

PAYMENT_LEDGERS = 60
KILLS = 6


def add_payments(history) -> None:
    """Small KALE transfers from two accounts in each of many ledgers, after the farming history."""
    kale = Asset(history.network.kale_asset_code, history.network.kale_asset_issuer)
    envelopes = [[envelope(history.devnet, history.accounts[sender], [Payment(history.address(receiver), kale,
                                                                                 "0.0000001")], offset, prepare=False)
                  for offset in range(PAYMENT_LEDGERS)] for sender, receiver in (("a", "payee"), ("payee", "a"))]
    for pair in zip(*envelopes):
        send_in_one_ledger(history.devnet, list(pair))


def indexer(database: str, rpc_url: str, until: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "indexer", "--scope", "all",
                             "--start-ledger", "1", "--until-ledger", str(until), "--batch-ledgers", "1"],
                            cwd=ROOT, env=pool_env(database, rpc_url), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def cursor_ledger() -> int:
    cursor = IndexerCursor.get_or_none(IndexerCursor.scope == "all")
    return -1 if cursor is None else cursor.ledger


def moved_past(ledger: int, process: subprocess.Popen, timeout: float = 120) -> bool:
    """Wait until the indexer has stored past `ledger` (True) or has exited (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if cursor_ledger() > ledger:
            return True
        time.sleep(0.01)
    return False


def test_kill_9_at_random_points_gives_the_same_tables_as_a_clean_run(db, postgres, create_database,
                                                                      devnet_factory):
    history = build_history(devnet_factory())
    add_payments(history)
    until = history.devnet.latest_ledger()
    rng = random.Random(7)
    killed_at = []  # the cursor after each kill
    while True:
        process = indexer(postgres, history.devnet.rpc_url, until)
        if len(killed_at) < KILLS and moved_past(cursor_ledger(), process):
            time.sleep(rng.uniform(0, 0.05))  # kill at a random point of the next batch, however fast the machine
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            killed_at.append(IndexerCursor.get_or_none(IndexerCursor.scope == "all"))
            continue
        assert process.wait(timeout=120) == 0, process.stderr.read().decode()[-2000:]
        break
    crashed = dump_chain_tables(db)

    clean = create_database()
    migrate(clean)
    process = indexer(clean, history.devnet.rpc_url, until)
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()[-2000:]
    clean_db = init_database(clean)
    try:
        assert dump_chain_tables(clean_db) == crashed
    finally:
        init_database(postgres)
    mid_run = {c.ledger for c in killed_at if c is not None and 0 < c.ledger < until}
    assert len(mid_run) >= 3, [c and c.ledger for c in killed_at]
    assert crashed["chain_transactions"].count("\n") > 10
    assert crashed["chain_kale_movements"].count("\n") > 2 * PAYMENT_LEDGERS
