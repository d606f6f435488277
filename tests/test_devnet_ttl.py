"""Temporary entries live --temp-ttl ledgers: an expired pail is gone, an extended one can be harvested."""
from __future__ import annotations

from stellar_sdk import ExtendFootprintTTL, RestoreFootprint, SorobanDataBuilder, TransactionBuilder, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain import calls, storage
from chain.kale import kale_hash
from tests.fixtures.devnet import new_funded_farmer, prepare_and_send, send_and_wait

KALE = 10_000_000
TEMP_TTL = 20


def footprint_tx(node, signer, operation, read_only=(), read_write=()):
    server = node.server()
    data = SorobanDataBuilder().set_read_only(list(read_only)).set_read_write(list(read_write)).build()
    tx = (TransactionBuilder(server.load_account(signer.public_key), node.passphrase, base_fee=100)
          .append_operation(operation).set_soroban_data(data).set_timeout(300).build())
    tx = server.prepare_transaction(tx)
    tx.sign(signer)
    return send_and_wait(node, tx)


def test_expired_pails_are_gone_and_extended_ones_are_harvested(devnet_factory):
    node = devnet_factory(close_interval=0, temp_ttl=TEMP_TTL)
    contract = node.info["farm_contract"]
    server = node.server()
    keeper, forgetter, opener = (new_funded_farmer(node, kale=10 * KALE) for _ in range(3))
    planted = {}
    for farmer in (keeper, forgetter):
        planted[farmer.public_key] = prepare_and_send(node, farmer, calls.plant(contract, farmer.public_key, KALE))
    pail_key = storage.pail_ledger_key(contract, forgetter.public_key, 0)
    entry = server.get_ledger_entries([pail_key]).entries[0]
    assert entry.live_until_ledger == planted[forgetter.public_key].ledger + TEMP_TTL - 1
    block_key = storage.block_ledger_key(contract, 0)
    entropy = storage.block_from_scval(
        xdr.LedgerEntryData.from_xdr(server.get_ledger_entries([block_key]).entries[0].xdr).contract_data.val).entropy
    for farmer in (keeper, forgetter):
        digest = kale_hash(0, 0, entropy, farmer.public_key)
        assert prepare_and_send(node, farmer, calls.work(contract, farmer.public_key, digest, 0)).status \
            == GetTransactionStatus.SUCCESS

    keeper_pail = storage.pail_ledger_key(contract, keeper.public_key, 0)
    extended = footprint_tx(node, keeper, ExtendFootprintTTL(200), read_only=[keeper_pail, block_key])
    assert extended.status == GetTransactionStatus.SUCCESS
    assert server.get_ledger_entries([keeper_pail]).entries[0].live_until_ledger == extended.ledger + 200

    node.close_ledgers(61)
    assert server.get_ledger_entries([pail_key]).entries == []
    assert prepare_and_send(node, opener, calls.plant(contract, opener.public_key, 0)).status \
        == GetTransactionStatus.SUCCESS
    harvested = prepare_and_send(node, keeper, calls.harvest(contract, keeper.public_key, 0))
    assert harvested.status == GetTransactionStatus.SUCCESS
    error = server.simulate_transaction(
        TransactionBuilder(server.load_account(forgetter.public_key), node.passphrase, base_fee=100)
        .append_operation(calls.harvest(contract, forgetter.public_key, 0)).set_timeout(300).build()).error
    assert "Error(Contract, #9)" in error


def test_an_expired_block_makes_harvest_block_missing(devnet_factory):
    node = devnet_factory(close_interval=0, temp_ttl=TEMP_TTL)
    contract = node.info["farm_contract"]
    farmer, opener = new_funded_farmer(node, kale=10 * KALE), new_funded_farmer(node, kale=0)
    prepare_and_send(node, farmer, calls.plant(contract, farmer.public_key, KALE))
    node.close_ledgers(61)
    prepare_and_send(node, opener, calls.plant(contract, opener.public_key, 0))
    server = node.server()
    error = server.simulate_transaction(
        TransactionBuilder(server.load_account(farmer.public_key), node.passphrase, base_fee=100)
        .append_operation(calls.harvest(contract, farmer.public_key, 0)).set_timeout(300).build()).error
    assert "Error(Contract, #11)" in error


def test_restore_of_a_live_entry_succeeds_and_of_a_temporary_key_is_malformed(devnet_factory):
    node = devnet_factory(close_interval=0, temp_ttl=TEMP_TTL)
    contract = node.info["farm_contract"]
    farmer = new_funded_farmer(node, kale=10 * KALE)
    restored = footprint_tx(node, farmer, RestoreFootprint(), read_write=[storage.instance_ledger_key(contract)])
    assert restored.status == GetTransactionStatus.SUCCESS
    failed = footprint_tx(node, farmer, RestoreFootprint(), read_write=[storage.block_ledger_key(contract, 0)])
    assert failed.status == GetTransactionStatus.FAILED
    op = xdr.TransactionResult.from_xdr(failed.result_xdr).result.results[0]
    assert op.tr.restore_footprint_result.code == xdr.RestoreFootprintResultCode.RESTORE_FOOTPRINT_MALFORMED
