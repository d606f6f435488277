"""Reconciliation matches pool records with the chain record of a devnet history: an honest
pool has no discrepancy; each kind of corrupted record is reported with both sides, once,
and holds back that farmer's settlement until it is resolved."""
from __future__ import annotations

from peewee import fn

from db.chain_models import ChainLedger, ChainTransaction, Discrepancy, settlement_blocker
from db.custody_models import CustodyEntry
from db.models import Compensation, Payout, Planting, TxIntent
from indexer.reconcile import check_balances, reconcile
from tests.indexer_history import KALE, corrupt, history, intent, pool  # noqa: F401


def chain(history, label: str) -> ChainTransaction:
    return ChainTransaction.get_by_id(history.hashes[label])


def kinds(**where) -> list[str]:
    query = Discrepancy.select()
    for name, value in where.items():
        query = query.where(getattr(Discrepancy, name) == value)
    return sorted(d.kind for d in query)


def test_an_honest_pool_reconciles_without_a_discrepancy(pool, history):
    assert reconcile(history.network) == []
    assert kinds() == []


def test_a_harvest_reward_one_stroop_off_is_a_mismatch_with_both_sides(pool, history):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    [found] = reconcile(history.network)
    reward = chain(history, "harvest_a").reward
    assert (found.kind, found.farmer_id, found.block_index) == ("harvest_mismatch", pool["a"].id, history.blocks[0])
    assert found.pool_side["reward"] == reward + 1 and found.chain_side["reward"] == reward
    assert found.chain_side["tx_hash"] == history.hashes["harvest_a"]


def test_a_planting_the_chain_never_saw_is_reported(pool, history):
    Planting.create(farmer=pool["b"].id, pooler=pool["pooler"].id, block_index=history.blocks[2], amount=KALE,
                    tx_hash="ab" * 32, ledger=chain(history, "plant_a_3").ledger)
    assert [d.kind for d in reconcile(history.network)] == ["planting_not_on_chain"]


def test_a_plant_on_chain_that_the_pool_did_not_record_is_reported(pool, history):
    corrupt("DELETE FROM plantings WHERE farmer_id = %s AND block_index = %s", pool["b"].id, history.blocks[1])
    [found] = reconcile(history.network)
    assert (found.kind, found.block_index, found.pool_side) == ("plant_not_recorded", history.blocks[1], None)


def test_a_plant_whose_intent_the_outbox_is_still_resolving_is_not_reported_yet(pool, history):
    corrupt("DELETE FROM plantings WHERE farmer_id = %s AND block_index = %s", pool["b"].id, history.blocks[1])
    TxIntent.update(status="submitted").where(TxIntent.tx_hash == history.hashes["plant_b_zero_2"]).execute()
    assert reconcile(history.network) == []


def test_a_work_report_that_disagrees_with_the_chain_raises_nothing_the_chain_decides_work(pool, history):
    corrupt("UPDATE works SET zeros = zeros + 1 WHERE farmer_id = %s", pool["a"].id)
    assert reconcile(history.network) == []


def test_a_compensation_for_a_pail_that_was_worked_is_a_mismatch(pool, history):
    Compensation.create(farmer=pool["b"].id, pooler=pool["pooler"].id, block_index=history.blocks[0], amount=0,
                        reason="test")
    [found] = reconcile(history.network)
    assert found.kind == "compensation_mismatch"
    assert found.chain_side["work_txs"] == [history.hashes["work_b"]]


def test_a_payout_sent_twice_is_reported(pool, history):
    intent(pool["a"], "payout:settlement:1", "payout", [history.hashes["payout_a"], history.hashes["harvest_a"]],
           ledger=chain(history, "payout_a").ledger)
    [found] = reconcile(history.network)
    assert found.kind == "sent_twice"
    assert found.chain_side["successful_transactions"] == [history.hashes["harvest_a"], history.hashes["payout_a"]]


def test_a_payout_recorded_with_another_amount_than_paid_is_a_mismatch(pool, history):
    Payout.update(amount=3 * KALE + 1).where(Payout.asset == "KALE").execute()
    [found] = reconcile(history.network)
    assert (found.kind, found.pool_side["amount"]) == ("payout_mismatch", 3 * KALE + 1)


def test_an_intent_marked_dead_whose_transaction_landed_is_reported(pool, history):
    intent(pool["a"], "harvest:a:again", "harvest", [history.hashes["harvest_a"]], status="dead")
    assert [d.kind for d in reconcile(history.network)] == ["intent_outcome_mismatch"]


def test_finding_the_same_mismatch_again_stores_it_once(pool, history):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    assert len(reconcile(history.network)) == 1
    assert reconcile(history.network) == []
    assert Discrepancy.select().count() == 1


def test_an_open_discrepancy_about_a_farmers_money_holds_back_its_settlement_until_resolved(pool, history):
    reconcile(history.network)
    assert settlement_blocker(pool["a"].id) is None
    Payout.update(amount=3 * KALE + 1).where(Payout.asset == "KALE").execute()
    reconcile(history.network)
    assert "payout_mismatch" in settlement_blocker(pool["a"].id)
    assert settlement_blocker(pool["b"].id) is None
    Discrepancy.update(resolved_at=fn.now(), resolution="checked by hand").execute()
    assert settlement_blocker(pool["a"].id) is None


def test_a_harvest_record_mismatch_does_not_hold_back_a_settlement(pool, history):
    corrupt("UPDATE harvests SET reward = reward - 1 WHERE farmer_id = %s", pool["a"].id)
    assert sorted(d.kind for d in reconcile(history.network)) == ["harvest_mismatch"]
    assert settlement_blocker(pool["a"].id) is None


def test_a_pool_transaction_that_landed_failed_is_reported_and_does_not_hold_back_a_settlement(pool, history):
    intent(pool["a"], "harvest:a:retry", "harvest", [history.hashes["harvest_a_again"], history.hashes["harvest_a"]],
           block_index=history.blocks[0], ledger=chain(history, "harvest_a").ledger)
    [found] = reconcile(history.network)
    assert (found.kind, found.farmer_id) == ("tx_failed", pool["a"].id)
    assert found.chain_side["tx_hash"] == history.hashes["harvest_a_again"]
    assert found.chain_side["contract_error"] == 9
    assert settlement_blocker(pool["a"].id) is None
    assert reconcile(history.network) == []


def test_a_resolved_fault_that_went_away_and_comes_back_is_raised_again(pool, history):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    [first] = reconcile(history.network)
    Discrepancy.update(resolved_at=fn.now(), resolution="record fixed").execute()
    assert reconcile(history.network) == []  # resolved, but still there: not raised again
    corrupt("UPDATE harvests SET reward = reward - 1 WHERE farmer_id = %s", pool["a"].id)
    assert reconcile(history.network) == []
    assert Discrepancy.get_by_id(first.id).cleared_at is not None
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    [again] = reconcile(history.network)
    assert (again.kind, again.fingerprint) == (first.kind, first.fingerprint) and again.id != first.id


def test_a_settlement_waits_until_reconciliation_covers_the_farmers_last_transaction(pool, history):
    assert "reconciled up to ledger None" in settlement_blocker(pool["a"].id)
    reconcile(history.network)
    assert settlement_blocker(pool["a"].id) is None
    TxIntent.update(ledger=history.devnet.latest_ledger() + 1).where(TxIntent.farmer == pool["a"].id).execute()
    assert "this farmer's last transaction is in ledger" in settlement_blocker(pool["a"].id)


def test_each_wallet_balance_equals_its_custody_ledger_in_kale_and_xlm(pool, history):
    client = history.client()
    assert check_balances(client) == []
    ledger = ChainLedger.select(fn.MAX(ChainLedger.sequence)).scalar()
    for asset, amount in (("KALE", 1), ("XLM", -7)):
        CustodyEntry.create(entry_key=f"test:{asset}", movement_id="test", position="test",
                            account=history.address("a"), farmer=pool["a"].id, asset=asset, amount=amount,
                            entry_class="unexplained", tx_hash=history.hashes["payout_a"], ledger=ledger)
    found = check_balances(client)
    assert sorted((d.kind, d.farmer_id, d.chain_side["asset"]) for d in found) == [
        ("balance_mismatch", pool["a"].id, "KALE"), ("balance_mismatch", pool["a"].id, "XLM")]
    kale = next(d for d in found if d.chain_side["asset"] == "KALE")
    assert kale.pool_side["custody_ledger"] == kale.chain_side["balance"] + 1
