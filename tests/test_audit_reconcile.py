"""Reconciliation matches pool records with the chain record of a devnet history: an honest
pool has no discrepancy; each kind of corrupted record is reported with both sides, once,
and holds back that farmer's settlement until it is resolved."""
from __future__ import annotations

import pytest
from peewee import fn

from db.attempts import TxAttempt
from db.chain_models import ChainKaleMovement, ChainTransaction, Discrepancy
from db.models import Compensation, Harvest, Payout, Planting, TxIntent, Work
from indexer.reconcile import check_balances, reconcile, settlement_gate
from tests.indexer_history import KALE, history, ingest  # noqa: F401


def chain(history, label: str) -> ChainTransaction:
    return ChainTransaction.get_by_id(history.hashes[label])


def intent(farmer, key: str, action: str, hashes: list[str], status: str = "success", **fields) -> TxIntent:
    row = TxIntent.create(idempotency_key=key, action=action, farmer=farmer.id, source=farmer.custodial_address,
                          tx_hash=hashes[-1], status=status, attempts=len(hashes), **fields)
    for number, tx_hash in enumerate(hashes, 1):
        TxAttempt.create(intent=row.id, attempt=number, source=farmer.custodial_address, sequence=number,
                         max_time=0, fee=100, tx_hash=tx_hash, envelope_xdr="AAAA")
    return row


@pytest.fixture
def pool(db, rows, history):
    """Farmers a and b with the records an honest pool keeps of the history, indexed."""
    pooler = rows.pooler(payout_address=history.address("pooler"))
    a = rows.farmer(pooler=pooler, custodial_address=history.address("a"), payout_address=history.address("payee"))
    b = rows.farmer(pooler=pooler, custodial_address=history.address("b"))
    ingest(history, scope="pool")
    for farmer, label in ((a, "plant_a"), (a, "plant_a_3"), (b, "plant_b_zero"), (b, "plant_b_zero_2")):
        c = chain(history, label)
        Planting.create(farmer=farmer.id, pooler=pooler.id, block_index=c.block_index, amount=c.stake,
                        tx_hash=c.hash, ledger=c.ledger)
        intent(farmer, f"plant:{farmer.id}:{c.block_index}", "plant", [c.hash], block_index=c.block_index,
               ledger=c.ledger)
    for farmer, label in ((a, "work_a"), (b, "work_b"), (b, "work_b_2")):
        c = chain(history, label)
        Work.create(farmer=farmer.id, pooler=pooler.id, block_index=c.block_index, hash=bytes.fromhex(c.work_hash),
                    nonce=c.nonce, zeros=c.zeros, gap=c.gap, tx_hash=c.hash)
    for farmer, label in ((a, "harvest_a"), (b, "harvest_b_zero")):
        c = chain(history, label)
        Harvest.create(farmer=farmer.id, block_index=c.block_index, reward=c.reward, tx_hash=c.hash, ledger=c.ledger)
    payout = chain(history, "payout_a")
    for asset, amount in (("KALE", 3 * KALE), ("XLM", 15_000_000)):
        Payout.create(farmer=a.id, recipient="farmer", destination=history.address("payee"), asset=asset,
                      amount=amount, status="confirmed", tx_hash=payout.hash, ledger=payout.ledger)
    return {"a": a, "b": b, "pooler": pooler}


def corrupt(sql: str, *params) -> None:
    """Change an append-only pool record behind the pool's back (triggers off for this statement)."""
    database = Planting._meta.database
    with database.atomic():
        database.execute_sql("SET LOCAL session_replication_role = replica")
        database.execute_sql(sql, params)


def kinds(**where) -> list[str]:
    query = Discrepancy.select()
    for name, value in where.items():
        query = query.where(getattr(Discrepancy, name) == value)
    return sorted(d.kind for d in query)


def test_an_honest_pool_reconciles_without_a_discrepancy(pool, history):
    assert reconcile(history.network, grace_ledgers=0) == []
    assert kinds() == []


def test_a_harvest_reward_one_stroop_off_is_a_mismatch_with_both_sides(pool, history):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    [found] = reconcile(history.network, grace_ledgers=0)
    reward = chain(history, "harvest_a").reward
    assert (found.kind, found.farmer_id, found.block_index) == ("harvest_mismatch", pool["a"].id, history.blocks[0])
    assert found.pool_side["reward"] == reward + 1 and found.chain_side["reward"] == reward
    assert found.chain_side["tx_hash"] == history.hashes["harvest_a"]


def test_a_planting_the_chain_never_saw_is_reported(pool, history):
    Planting.create(farmer=pool["b"].id, pooler=pool["pooler"].id, block_index=history.blocks[2], amount=KALE,
                    tx_hash="ab" * 32, ledger=chain(history, "plant_a_3").ledger)
    assert [d.kind for d in reconcile(history.network, grace_ledgers=0)] == ["planting_not_on_chain"]


def test_a_plant_on_chain_that_the_pool_did_not_record_is_reported_after_the_grace(pool, history):
    corrupt("DELETE FROM plantings WHERE farmer_id = %s AND block_index = %s", pool["b"].id, history.blocks[1])
    latest = history.devnet.latest_ledger()
    plant_ledger = chain(history, "plant_b_zero_2").ledger
    assert reconcile(history.network, grace_ledgers=latest - plant_ledger + 1) == []
    [found] = reconcile(history.network, grace_ledgers=latest - plant_ledger)
    assert (found.kind, found.block_index, found.pool_side) == ("plant_not_recorded", history.blocks[1], None)


def test_a_work_recorded_with_other_zeros_than_the_chain_is_a_mismatch(pool, history):
    corrupt("UPDATE works SET zeros = zeros + 1 WHERE farmer_id = %s", pool["a"].id)
    [found] = reconcile(history.network, grace_ledgers=0)
    assert (found.kind, found.pool_side["zeros"], found.chain_side["zeros"]) == ("work_mismatch", 3, 2)


def test_a_compensation_for_a_pail_that_was_worked_is_a_mismatch(pool, history):
    Compensation.create(farmer=pool["b"].id, pooler=pool["pooler"].id, block_index=history.blocks[0], amount=0,
                        reason="test")
    [found] = reconcile(history.network, grace_ledgers=0)
    assert found.kind == "compensation_mismatch"
    assert found.chain_side["work_txs"] == [history.hashes["work_b"]]


def test_a_payout_sent_twice_is_reported(pool, history):
    intent(pool["a"], "payout:settlement:1", "payout", [history.hashes["payout_a"], history.hashes["harvest_a"]],
           ledger=chain(history, "payout_a").ledger)
    [found] = reconcile(history.network, grace_ledgers=0)
    assert found.kind == "sent_twice"
    assert found.chain_side["successful_transactions"] == [history.hashes["harvest_a"], history.hashes["payout_a"]]


def test_a_payout_recorded_with_another_amount_than_paid_is_a_mismatch(pool, history):
    Payout.update(amount=3 * KALE + 1).where(Payout.asset == "KALE").execute()
    [found] = reconcile(history.network, grace_ledgers=0)
    assert (found.kind, found.pool_side["amount"]) == ("payout_mismatch", 3 * KALE + 1)


def test_an_intent_marked_dead_whose_transaction_landed_is_reported(pool, history):
    intent(pool["a"], "harvest:a:again", "harvest", [history.hashes["harvest_a"]], status="dead")
    assert [d.kind for d in reconcile(history.network, grace_ledgers=0)] == ["intent_outcome_mismatch"]


def test_finding_the_same_mismatch_again_stores_it_once(pool, history):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    assert len(reconcile(history.network, grace_ledgers=0)) == 1
    assert reconcile(history.network, grace_ledgers=0) == []
    assert Discrepancy.select().count() == 1


def test_an_open_discrepancy_holds_back_that_farmers_settlement_until_resolved(pool, history):
    gate = settlement_gate(history.network)
    assert gate(pool["a"]) is None
    corrupt("UPDATE harvests SET reward = reward - 1 WHERE farmer_id = %s", pool["a"].id)
    assert "harvest_mismatch" in gate(pool["a"])
    assert gate(pool["b"]) is None
    Discrepancy.update(resolved_at=fn.now(), resolution="checked by hand").execute()
    assert gate(pool["a"]) is None


def test_the_gate_waits_while_the_chain_record_is_behind_the_farmers_transactions(pool, history):
    TxIntent.update(ledger=history.devnet.latest_ledger() + 10).where(TxIntent.farmer == pool["a"].id).execute()
    assert "chain record reaches ledger" in settlement_gate(history.network)(pool["a"])


def test_each_wallet_balance_equals_the_sum_of_its_indexed_kale_movements(pool, history):
    client = history.client()
    assert check_balances(client) == []
    ChainKaleMovement.delete().where(ChainKaleMovement.tx_hash == history.hashes["payout_a"]).execute()
    [found] = check_balances(client)
    assert (found.kind, found.farmer_id) == ("balance_mismatch", pool["a"].id)
    assert found.chain_side["balance"] == found.pool_side["indexed_sum"] - 3 * KALE
