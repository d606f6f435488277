"""`manage.py audit` against a pool that settled an exit: clean when honest, and each money fault
injected into the pool's records (or caused on chain) is reported by kind, with exit status 1."""
import json

import pytest

from db.models import Farmer

from tests.indexer_history import corrupt, manage


@pytest.fixture
def settled(pool_harness, postgres):
    """A pool whose first farmer has left and been paid; its pooler and a staying farmer remain."""
    pooler = pool_harness.new_pooler(share_bps=5000)
    leaver = pool_harness.new_farmer(pooler)
    stayer = pool_harness.new_farmer(pooler)
    pool_harness.plant_and_work(pooler)
    pool_harness.api("POST", "/farmers/me/exit", token=leaver.token, json={})
    pool_harness.close_block(pooler)
    pool_harness.settle(leaver.id)
    pool_harness.index_and_reconcile()
    return {"harness": pool_harness, "pooler": pooler, "leaver": leaver, "stayer": stayer, "postgres": postgres}


def audit(settled) -> tuple[int, list[str]]:
    result = manage("audit", "--json", database=settled["postgres"],
                    rpc_url=settled["harness"].settings.network.rpc_url)
    kinds = sorted({d["kind"] for d in json.loads(result.stdout)["discrepancies"]}) if result.stdout else []
    return result.returncode, kinds


def test_an_honest_pool_with_a_settled_exit_audits_clean(settled):
    assert audit(settled) == (0, [])


def test_a_settlement_whose_split_disagrees_with_the_chain_is_reported(settled):
    corrupt("UPDATE settlement_periods SET rewards = rewards + 1")
    assert audit(settled) == (1, ["settlement_mismatch"])


def test_a_compensation_charged_for_a_pail_never_announced_is_reported(settled):
    harness, stayer = settled["harness"], settled["stayer"]
    harness.pool.planter.wait_seconds = 0  # the answer says "pending": the pail is not announced
    harness.wait_until_block_can_open()
    index = harness.plant(settled["pooler"])["pending"][0]["block_index"]
    harness.resolve_all()
    harness.pool.planter.wait_seconds = 60
    harness.close_block(settled["pooler"])
    harness.pool.harvester.run_pass()
    corrupt("UPDATE compensations SET amount = 1 WHERE farmer_id = %s AND block_index = %s", stayer.id, index)
    harness.index_and_reconcile()
    assert audit(settled) == (1, ["compensation_mismatch"])


def test_a_pool_transaction_that_landed_failed_is_reported(settled):
    harness, stayer = settled["harness"], settled["stayer"]
    harness.devnet.fail_next(stayer.address, 1)
    harness.wait_until_block_can_open()
    answer = harness.plant(settled["pooler"])  # the plant lands as failed
    assert [f["farmer_id"] for f in answer["failed"]] == [stayer.id]
    harness.index_and_reconcile()
    code, kinds = audit(settled)
    assert (code, kinds) == (1, ["tx_failed"])
    assert Farmer.get_by_id(stayer.id).plant_problem

