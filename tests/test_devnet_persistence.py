"""The devnet keeps its whole state in --state-dir: a restart resumes the same chain."""
from __future__ import annotations

from stellar_sdk import xdr

from chain import calls, storage
from tests.fixtures.devnet import new_funded_farmer, prepare_and_send


def test_restart_keeps_accounts_contract_data_ledgers_and_transactions(devnet_factory):
    node = devnet_factory(close_interval=0)
    farmer = new_funded_farmer(node, kale=500 * 10_000_000)
    planted = prepare_and_send(node, farmer, calls.plant(node.info["farm_contract"], farmer.public_key, 10**8))
    pail_key = storage.pail_ledger_key(node.info["farm_contract"], farmer.public_key, 0)
    server = node.server()
    pail_before = server.get_ledger_entries([pail_key]).entries[0]
    latest = node.latest_ledger()
    sequence = server.load_account(farmer.public_key).sequence

    node.restart()

    server = node.server()
    assert node.latest_ledger() == latest
    assert server.load_account(farmer.public_key).sequence == sequence
    pail_after = server.get_ledger_entries([pail_key]).entries[0]
    assert (pail_after.xdr, pail_after.live_until_ledger) == (pail_before.xdr, pail_before.live_until_ledger)
    found = server.get_transaction(planted.transaction_hash)
    assert found.status.value == "SUCCESS" and found.ledger == planted.ledger
    pail = storage.pail_from_scval(xdr.LedgerEntryData.from_xdr(pail_after.xdr).contract_data.val)
    assert pail.stake == 10**8 and pail.sequence == planted.ledger
    assert node.close_ledgers(2) == latest + 2


def test_a_killed_devnet_restarts_at_its_last_closed_ledger(devnet_factory):
    node = devnet_factory(close_interval=0)
    farmer = new_funded_farmer(node, kale=5 * 10_000_000)
    latest = node.close_ledgers(3)
    node.process.kill()
    node.process.wait()
    node.process = None
    node.start()
    assert node.latest_ledger() == latest
    assert node.server().load_account(farmer.public_key).sequence > 0
    assert node.close_ledgers(1) == latest + 1
