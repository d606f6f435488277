"""The outbox: written before sent, resolved only by the chain, one transaction per action."""
import importlib
import re
from pathlib import Path

import pytest
from stellar_sdk import Asset, Payment, xdr
from stellar_sdk.soroban_rpc import SendTransactionResponse

from chain.transactions import SimulationFailed, build_classic
from db.attempts import TxAttempt
from db.chain_models import Discrepancy
from db.models import Farmer, TxIntent
from jobs.outbox import HANDLERS, Action, SourceBusy


def payment_action(pool_harness, farmer, key: str):
    """An outbox action paying 1 stroop of XLM from the farmer's wallet to its payout address:
    (action, build, signer, the farmer's row), the arguments of `Outbox.send`."""
    row = Farmer.get_by_id(farmer.id)
    payment = Payment(farmer.payout.public_key, Asset.native(), "0.0000001")

    def build(sequence, max_time, fee):
        return build_classic(pool_harness.client, farmer.address, sequence, [payment], fee, max_time)

    action = Action(key=key, action="fund", source=farmer.address, farmer_id=farmer.id)
    return action, build, pool_harness.pool.custody.sign_transaction, row


def dropped(latest_ledger: int):
    """A stand-in for sendTransaction that answers PENDING but never delivers (a lost request)."""
    def send(envelope_xdr):
        return SendTransactionResponse.model_validate({
            "status": "PENDING", "hash": "0" * 64, "latestLedger": latest_ledger,
            "latestLedgerCloseTime": 0})
    return send


@pytest.fixture
def farmer(pool_harness):
    return pool_harness.new_farmer(pool_harness.new_pooler(), kale=0)


def test_the_intent_and_its_signed_envelope_are_committed_before_the_first_submit(pool_harness, farmer,
                                                                                 monkeypatch):
    action, build, sign, row = payment_action(pool_harness, farmer, "test:crash-before-submit")
    outbox = pool_harness.pool.outbox

    def crash(envelope_xdr):
        raise KeyboardInterrupt("the process died here")

    monkeypatch.setattr(outbox.client, "send", crash)
    with pytest.raises(KeyboardInterrupt):
        outbox.send(action, build, sign, row)
    intent = TxIntent.get(TxIntent.idempotency_key == action.key)
    assert (intent.status, len(intent.tx_hash)) == ("new", 64)
    monkeypatch.undo()

    resolved = outbox.confirm([outbox.step(intent)], 30)[0]
    assert resolved.status == "success"
    assert resolved.tx_hash == intent.tx_hash  # the very envelope recorded before the crash


def test_sending_an_action_twice_makes_one_intent_and_one_transaction(pool_harness, farmer):
    action, build, sign, row = payment_action(pool_harness, farmer, "test:twice")
    outbox = pool_harness.pool.outbox
    first = outbox.send(action, build, sign, row)
    second = outbox.send(action, build, sign, row)
    outbox.confirm([first], 30)
    assert first.id == second.id
    assert TxAttempt.select().where(TxAttempt.intent == first.id).count() == 1


def test_a_landed_transaction_whose_result_was_not_recorded_is_resolved_from_the_chain(pool_harness, farmer):
    action, build, sign, row = payment_action(pool_harness, farmer, "test:crash-before-record")
    outbox = pool_harness.pool.outbox
    intent = outbox.confirm([outbox.send(action, build, sign, row)], 30)[0]
    assert intent.status == "success"
    TxIntent.update(status="submitted", ledger=None).where(TxIntent.id == intent.id).execute()
    again = outbox.step(TxIntent.get_by_id(intent.id))
    assert (again.status, again.ledger) == ("success", intent.ledger)
    assert TxAttempt.select().where(TxAttempt.intent == intent.id).count() == 1


def test_a_new_envelope_is_signed_only_after_the_old_one_is_provably_dead(pool_harness, farmer, monkeypatch):
    action, build, sign, row = payment_action(pool_harness, farmer, "test:dead")
    outbox = pool_harness.pool.outbox
    monkeypatch.setattr(outbox.client, "send", dropped(pool_harness.devnet.latest_ledger()))
    first = outbox.send(action, build, sign, row)
    assert first.status == "submitted"
    assert outbox.send(action, build, sign, row).tx_hash == first.tx_hash  # still alive: no new envelope

    while pool_harness.client.latest_ledger().close_time <= first.max_time:
        pool_harness.devnet.wait_ledgers(1)
    assert outbox.step(TxIntent.get_by_id(first.id)).status == "dead"
    monkeypatch.undo()

    second = outbox.confirm([outbox.send(action, build, sign, row)], 30)[0]
    assert second.status == "success" and second.tx_hash != first.tx_hash
    assert pool_harness.client.transaction(first.tx_hash).status.value == "NOT_FOUND"
    assert [a.attempt for a in TxAttempt.select().where(TxAttempt.intent == first.id)] == [1, 2]


def test_a_source_account_has_one_live_transaction_at_a_time(pool_harness, farmer, monkeypatch):
    outbox = pool_harness.pool.outbox
    monkeypatch.setattr(outbox.client, "send", dropped(pool_harness.devnet.latest_ledger()))
    outbox.send(*payment_action(pool_harness, farmer, "test:first"))
    with pytest.raises(SourceBusy):
        outbox.send(*payment_action(pool_harness, farmer, "test:second"))
    assert TxIntent.get_or_none(TxIntent.idempotency_key == "test:second") is None


def test_a_contract_refusal_is_named_before_anything_is_signed(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.wait_until_block_can_open()
    index = pool_harness.plant(pooler)["planted"][0]["block_index"]
    with pytest.raises(SimulationFailed) as refused:
        pool_harness.pool.harvester._harvest(Farmer.get_by_id(farmer.id), index)  # the block is still open
    assert refused.value.failure.name == "#14 HarvestNotReady"
    assert TxIntent.get_or_none(TxIntent.action == "harvest") is None


def frozen(envelope_xdr):
    """A stand-in for sendTransaction refusing the envelope: it touches a frozen ledger key (CAP-77)."""
    result = xdr.TransactionResult(fee_charged=xdr.Int64(0), result=xdr.TransactionResultResult(
        code=xdr.TransactionResultCode.txFROZEN_KEY_ACCESSED), ext=xdr.TransactionResultExt(0))
    return SendTransactionResponse.model_validate({
        "status": "ERROR", "hash": "0" * 64, "latestLedger": 1, "latestLedgerCloseTime": 0,
        "errorResultXdr": result.to_xdr()})


def test_a_frozen_key_refusal_ends_the_action_for_good_and_raises_an_alarm(pool_harness, farmer, monkeypatch):
    outbox = pool_harness.pool.outbox
    action, build, sign, row = payment_action(pool_harness, farmer, "fund:frozen")
    monkeypatch.setattr(outbox.client, "send", frozen)

    intent = outbox.send(action, build, sign, row)

    assert (intent.status, intent.error_code) == ("dead", "frozen")
    again = outbox.send(action, build, sign, row)  # never rebuilt: nothing new is signed
    assert (again.id, again.attempts) == (intent.id, 1)
    alarm = Discrepancy.get(Discrepancy.kind == "frozen_key")
    assert alarm.pool_side["key"] == "fund:frozen" and alarm.farmer_id == farmer.id


def test_each_action_registers_its_result_handler_in_the_module_that_sends_it():
    importlib.import_module("jobs.pool")  # wires every job, as the scheduler and the API do

    senders = {"plant": "jobs.plant", "harvest": "jobs.harvest", "payout": "jobs.settlement",
               "close": "jobs.settlement"}
    assert {action: HANDLERS[action].__module__ for action in senders} == senders


def test_only_the_outbox_writes_an_intent():
    root = Path(__file__).resolve().parents[1]
    writes = re.compile(r"TxIntent\.(update|create|insert|delete|replace)\b|intent\.save\(|"
                        r"(UPDATE|INSERT INTO|DELETE FROM)\s+tx_intents", re.IGNORECASE)
    writers = {str(path.relative_to(root)) for package in ("chain", "db", "indexer", "jobs", "web")
               for path in (root / package).rglob("*.py")
               if writes.search(path.read_text())}
    assert writers == {"jobs/outbox.py"}
