"""SIGKILL at every step of submission, restart, repeat: no action sent twice, none lost."""
import os
import subprocess
import sys
from pathlib import Path

from db.attempts import TxAttempt
from db.models import Planting, TxIntent

ROOT = Path(__file__).resolve().parents[1]
FARMERS = 50
TARGET = 200


def test_killed_pool_processes_never_send_an_action_twice_nor_lose_one(pool_harness):
    pooler = pool_harness.new_pooler(capacity=FARMERS)
    pool_harness.new_farmers_bulk(pooler, FARMERS)
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "KALEPOOL_FAULTS": "after_intent_commit:0.02,after_submit:0.02,before_result_recorded:0.02"}
    args = [sys.executable, str(ROOT / "tests" / "crash_runner.py"), pool_harness.settings.database_url,
            pool_harness.settings.rpc_url, str(pool_harness.settings.state_dir), str(pooler.id), str(TARGET)]
    kills = 0
    for _ in range(200):
        result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if result.returncode == 0:
            break
        assert result.returncode == -9, result.stderr[-2000:]
        kills += 1
    else:
        raise AssertionError("the runner never finished")
    print(f"survived {kills} kills")

    intents = list(TxIntent.select().where(TxIntent.action == "plant"))
    assert len(intents) >= TARGET
    plantings = {p.tx_hash: p for p in Planting.select()}
    for intent in intents:
        landed = [a.tx_hash for a in TxAttempt.select().where(TxAttempt.intent == intent.id)
                  if pool_harness.client.transaction(a.tx_hash).status.value != "NOT_FOUND"]
        assert len(landed) <= 1, f"{intent.idempotency_key} landed {len(landed)} times"
        if landed:
            assert intent.status in ("success", "failed") and intent.tx_hash == landed[0]
            assert intent.status == "failed" or landed[0] in plantings, f"{intent.idempotency_key} lost"
        else:
            assert intent.status == "dead", f"{intent.idempotency_key} is {intent.status}"
    on_chain = pool_harness.client.pails([(p.farmer.custodial_address, p.block_index)
                                          for p in plantings.values()])
    assert len(on_chain) == len(plantings)
    assert kills > 0
