"""Every farm (and asset contract) error a caller can reach shows up as Error(Contract, #N).

Errors 1, 2, 3 and 12 cannot be reached by a caller of the deployed contract
(the homestead exists, FarmBlock exists, block ranges are always ordered).
"""
from __future__ import annotations

import hashlib

import pytest
from stellar_sdk import Keypair, SorobanDataBuilder, TransactionBuilder, scval, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus, SendTransactionStatus

from chain import calls, storage
from chain.kale import kale_hash
from tests.fixtures.devnet import manual_devnet, new_funded_farmer, prepare_and_send, send_and_wait

HOMESTEADER = Keypair.from_raw_ed25519_seed(hashlib.sha256(b"kalepool devnet homesteader").digest())
KALE = 10_000_000


node = manual_devnet("errors")


def tx(node, source: Keypair, op, sequence_offset: int = 0):
    account = node.server().load_account(source.public_key)
    account.sequence += sequence_offset
    return TransactionBuilder(account, node.passphrase, base_fee=100).append_operation(op).set_timeout(300).build()


def simulation_error(node, source: Keypair, op) -> str:
    return node.server().simulate_transaction(tx(node, source, op)).error or ""


def farm(node) -> str:
    return node.info["farm_contract"]


def block(node, index):
    entry = node.server().get_ledger_entries([storage.block_ledger_key(farm(node), index)]).entries[0]
    return storage.block_from_scval(xdr.LedgerEntryData.from_xdr(entry.xdr).contract_data.val)


def diagnostic_errors(result) -> list[str]:
    """The contract errors in a failed transaction's diagnostic `error` events."""
    errors = []
    for event_b64 in result.diagnostic_events_xdr or []:
        topics = xdr.DiagnosticEvent.from_xdr(event_b64).event.body.v0.topics
        if len(topics) == 2 and scval.to_native(topics[0]) == "error":
            error = topics[1].error
            if error.type == xdr.SCErrorType.SCE_CONTRACT:
                errors.append(f"Error(Contract, #{error.contract_code.uint32})")
    return errors


@pytest.fixture(scope="module")
def planted(node):
    """Two farmers planted in block 0 and one that only holds KALE."""
    farmers = [new_funded_farmer(node, kale=100 * KALE) for _ in range(3)]
    for farmer in farmers[:2]:
        assert prepare_and_send(node, farmer, calls.plant(farm(node), farmer.public_key, KALE)).status \
            == GetTransactionStatus.SUCCESS
    return farmers


def test_work_before_any_block_exists_is_block_missing(devnet_factory):
    node = devnet_factory(close_interval=0)
    farmer = new_funded_farmer(node, kale=0)
    op = calls.work(node.info["farm_contract"], farmer.public_key, bytes(32), 0)
    assert "Error(Contract, #11)" in simulation_error(node, farmer, op)


def test_negative_stake_is_plant_amount_too_low(node, planted):
    farmer = planted[2]
    op = calls.invoke(farm(node), "plant", [scval.to_address(farmer.public_key), scval.to_int128(-1)])
    assert "Error(Contract, #6)" in simulation_error(node, farmer, op)


def test_second_plant_in_a_block_is_pail_exists(node, planted):
    farmer = planted[0]
    assert "Error(Contract, #8)" in simulation_error(node, farmer, calls.plant(farm(node), farmer.public_key, 0))


def test_second_plant_applied_in_the_same_ledger_fails_on_chain_with_pail_exists(node, planted):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    first = server.prepare_transaction(tx(node, farmer, calls.plant(farm(node), farmer.public_key, KALE)))
    second = server.prepare_transaction(tx(node, farmer, calls.plant(farm(node), farmer.public_key, 2 * KALE), 1))
    for envelope in (first, second):
        envelope.sign(farmer)
        assert server.send_transaction(envelope).status == SendTransactionStatus.PENDING
    node.close_ledgers(1)
    assert server.get_transaction(first.hash_hex()).status == GetTransactionStatus.SUCCESS
    failed = server.get_transaction(second.hash_hex())
    assert failed.status == GetTransactionStatus.FAILED
    assert "Error(Contract, #8)" in diagnostic_errors(failed)
    result = xdr.TransactionResult.from_xdr(failed.result_xdr)
    assert result.result.code == xdr.TransactionResultCode.txFAILED
    assert result.result.results[0].tr.invoke_host_function_result.code \
        == xdr.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_TRAPPED


def test_work_without_a_pail_is_pail_missing(node, planted):
    farmer = planted[2]
    op = calls.work(farm(node), farmer.public_key, bytes(32), 0)
    assert "Error(Contract, #9)" in simulation_error(node, farmer, op)


def test_work_with_a_wrong_hash_is_hash_invalid(node, planted):
    farmer = planted[0]
    op = calls.work(farm(node), farmer.public_key, b"\x01" * 32, 0)
    assert "Error(Contract, #13)" in simulation_error(node, farmer, op)


def test_work_in_the_ledger_of_the_plant_is_gap_count_too_low(node, planted):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    plant = server.prepare_transaction(tx(node, farmer, calls.plant(farm(node), farmer.public_key, KALE)))
    # borrow a planted farmer's work footprint, with this farmer's pail in it
    other = planted[1].public_key
    digest = kale_hash(0, 0, block(node, 0).entropy, farmer.public_key)
    template = server.simulate_transaction(tx(node, planted[1], calls.work(
        farm(node), other, kale_hash(0, 0, block(node, 0).entropy, other), 0)))
    data = xdr.SorobanTransactionData.from_xdr(template.transaction_data)
    own_pail = storage.pail_ledger_key(farm(node), farmer.public_key, 0)
    data.resources.footprint.read_write = [
        own_pail if k.to_xdr_bytes() == storage.pail_ledger_key(farm(node), other, 0).to_xdr_bytes() else k
        for k in data.resources.footprint.read_write]
    work = tx(node, farmer, calls.work(farm(node), farmer.public_key, digest, 0), 1)
    work = (TransactionBuilder.from_xdr(work.to_xdr(), node.passphrase))
    work.transaction.soroban_data = SorobanDataBuilder.from_xdr(data).set_resource_fee(10**6).build()
    work.transaction.fee += 10**6
    for envelope in (plant, work):
        envelope.sign(farmer)
        assert server.send_transaction(envelope).status == SendTransactionStatus.PENDING
    node.close_ledgers(1)
    assert server.get_transaction(plant.hash_hex()).status == GetTransactionStatus.SUCCESS
    failed = server.get_transaction(work.hash_hex())
    assert failed.status == GetTransactionStatus.FAILED
    assert "Error(Contract, #15)" in diagnostic_errors(failed)


def test_a_resubmission_without_more_zeros_is_zero_count_too_low(node, planted):
    farmer = planted[1]
    entropy = block(node, 0).entropy
    nonce = 0
    while kale_hash(0, nonce, entropy, farmer.public_key)[0] >= 0x10:
        nonce += 1
    digest = kale_hash(0, nonce, entropy, farmer.public_key)
    ok = prepare_and_send(node, farmer, calls.work(farm(node), farmer.public_key, digest, nonce))
    assert ok.status == GetTransactionStatus.SUCCESS
    assert "Error(Contract, #7)" in simulation_error(
        node, farmer, calls.work(farm(node), farmer.public_key, digest, nonce))


def test_harvest_errors_block_missing_pail_missing_not_ready_work_missing(node, planted):
    worker, idle, outsider = planted
    assert "Error(Contract, #11)" in simulation_error(node, outsider, calls.harvest(farm(node), outsider.public_key, 77))
    assert "Error(Contract, #9)" in simulation_error(node, outsider, calls.harvest(farm(node), outsider.public_key, 0))
    assert "Error(Contract, #14)" in simulation_error(node, idle, calls.harvest(farm(node), idle.public_key, 0))


def test_harvest_of_an_unworked_pail_in_a_past_block_is_work_missing(devnet_factory):
    node = devnet_factory(close_interval=0)
    farmer = new_funded_farmer(node, kale=10 * KALE)
    contract = node.info["farm_contract"]
    assert prepare_and_send(node, farmer, calls.plant(contract, farmer.public_key, KALE)).status \
        == GetTransactionStatus.SUCCESS
    node.close_ledgers(61)
    other = new_funded_farmer(node, kale=0)
    assert prepare_and_send(node, other, calls.plant(contract, other.public_key, 0)).status \
        == GetTransactionStatus.SUCCESS
    assert "Error(Contract, #10)" in simulation_error(node, farmer, calls.harvest(contract, farmer.public_key, 0))


def test_pause_blocks_plants_and_pause_unpause_report_their_errors(devnet_factory):
    node = devnet_factory(close_interval=0)
    contract = node.info["farm_contract"]
    farmer = new_funded_farmer(node, kale=10 * KALE)
    pause = calls.invoke(contract, "pause", [])
    unpause = calls.invoke(contract, "unpause", [])
    assert "Error(Contract, #5)" in simulation_error(node, HOMESTEADER, unpause)
    assert prepare_and_send(node, HOMESTEADER, pause).status == GetTransactionStatus.SUCCESS
    assert "Error(Contract, #4)" in simulation_error(node, farmer, calls.plant(contract, farmer.public_key, 0))
    assert "Error(Contract, #4)" in simulation_error(node, HOMESTEADER, pause)
    assert prepare_and_send(node, HOMESTEADER, unpause).status == GetTransactionStatus.SUCCESS
    assert prepare_and_send(node, farmer, calls.plant(contract, farmer.public_key, 0)).status \
        == GetTransactionStatus.SUCCESS


def test_pause_by_anyone_but_the_homesteader_fails_authorization(devnet_factory):
    node = devnet_factory(close_interval=0)
    intruder = new_funded_farmer(node, kale=0)
    server = node.server()
    envelope = server.prepare_transaction(tx(node, intruder, calls.invoke(node.info["farm_contract"], "pause", [])))
    envelope.sign(intruder)
    result = send_and_wait(node, envelope)
    assert result.status == GetTransactionStatus.FAILED


def test_stake_above_the_balance_and_stake_without_trustline_are_asset_contract_errors(node, planted):
    farmer = planted[2]
    op = calls.plant(farm(node), farmer.public_key, 1_000 * KALE)
    assert "Error(Contract, #10)" in simulation_error(node, farmer, op)
    stranger = Keypair.random()
    node.fund(stranger.public_key)
    op = calls.plant(farm(node), stranger.public_key, KALE)
    assert "Error(Contract, #13)" in simulation_error(node, stranger, op)
