"""The devnet as outside clients see it: protocol 23 and 30 ledgers, LedgerCloseMeta v2, the wall
clock, friendbot by POST, the farm's Wasm interface and the admin functions of the current source."""
from __future__ import annotations

import base64
import hashlib
import time

import pytest
import requests
from nacl.signing import VerifyKey
from stellar_sdk import Keypair, scval, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus
from xdrlib3 import Unpacker

from chain import calls, storage
from chain.ledger_header import read_header, read_history_entry
from chain.rpc import ChainClient
from config import load_settings
from devnet.close_meta import validator
from devnet.contracts.farm_wasm import FUNCTIONS
from tests.fixtures.devnet import new_funded_farmer, prepare_and_send, send_and_wait
from tests.test_devnet_contract_errors import HOMESTEADER, simulation_error, tx

KALE = 10_000_000


def ledgers_page(node, start: int = 1, limit: int = 200) -> list[dict]:
    return node.call("getLedgers", {"startLedger": start, "pagination": {"limit": limit}})["ledgers"]


def custom_sections(module: bytes) -> dict[str, bytes]:
    """The custom sections of a WebAssembly module, by name."""
    def leb(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = module[pos]
            value |= (byte & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if not byte & 0x80:
                return value, pos
    assert module[:8] == b"\0asm\x01\0\0\0"
    sections, pos = {}, 8
    while pos < len(module):
        section_id = module[pos]
        size, pos = leb(pos + 1)
        if section_id == 0:
            name_length, start = leb(pos)
            sections[module[start:start + name_length].decode()] = module[start + name_length:pos + size]
        pos += size
    return sections


def test_get_ledgers_metadata_is_ledger_close_meta_v2_with_the_ledgers_transactions(devnet_factory):
    node = devnet_factory(close_interval=0)
    farmer = new_funded_farmer(node, kale=10 * KALE)
    planted = prepare_and_send(node, farmer, calls.plant(node.info["farm_contract"], farmer.public_key, KALE))
    item = next(i for i in ledgers_page(node) if i["sequence"] == planted.ledger)
    close_meta = xdr.LedgerCloseMeta.from_xdr(item["metadataXdr"])
    assert close_meta.v == 2
    v2 = close_meta.v2
    assert v2.ledger_header.header.ledger_seq.uint32 == planted.ledger
    assert [r.result.transaction_hash.hash.hex() for r in v2.tx_processing] == [planted.transaction_hash]
    assert v2.tx_processing[0].tx_apply_processing.to_xdr() == planted.result_meta_xdr
    phases = v2.tx_set.v1_tx_set.phases
    soroban = phases[1].parallel_txs_component.execution_stages[0].parallel_tx_execution_stage[0]
    assert len(soroban.dependent_tx_cluster) == 1 and phases[0].v0_components == []


def test_protocol_30_ledgers_carry_millisecond_close_times_the_python_sdk_cannot_decode(devnet_factory):
    node = devnet_factory(close_interval=0, protocol=30)
    node.close_ledgers(3)
    network, version = node.call("getNetwork"), node.call("getVersionInfo")
    assert network["protocolVersion"] == version["protocolVersion"] == 30
    latest = node.call("getLatestLedger")
    assert latest["protocolVersion"] == 30
    header_bytes = base64.b64decode(latest["headerXdr"])
    with pytest.raises(Exception):
        xdr.LedgerHeader.from_xdr_bytes(header_bytes)  # stellar-sdk 16.1.1 stops at EMPTY_TX_SET
    header = read_header(header_bytes)
    assert (header.protocol_version, header.value_arm, header.sequence) == (30, 3, latest["sequence"])
    assert header.close_time_ms == int(latest["closeTime"]) * 1000
    signature_at = 80 + 4 + 8 + 4  # ext arm, closeTimeMs, NodeID type
    assert header_bytes[signature_at:signature_at + 32] == validator().raw_public_key()


def test_protocol_30_ledgers_chain_by_hash_as_get_ledgers_serves_them(devnet_factory):
    node = devnet_factory(close_interval=0, protocol=30)
    node.close_ledgers(4)
    items = ledgers_page(node)
    entries = [read_history_entry(base64.b64decode(i["headerXdr"])) for i in items]
    assert [h.sequence for _, h in entries] == [i["sequence"] for i in items]
    for (previous_hash, _), (_, header) in zip(entries, entries[1:]):
        assert header.previous_hash == previous_hash
    assert all(base64.b64decode(i["metadataXdr"])[:4] == b"\0\0\0\x02" for i in items)


def test_ledger_time_tracks_the_wall_clock_when_the_close_interval_equals_the_ledger_time_step(devnet_factory):
    started = time.time()
    node = devnet_factory(close_interval=1, ledger_seconds=1)
    node.wait_ledgers(2)
    close_time = int(node.call("getLatestLedger")["closeTime"])
    assert started - 5 <= close_time <= time.time() + 1


def test_fast_closes_keep_the_fixed_stepped_clock_of_the_test_suite(devnet_factory):
    node = devnet_factory(close_interval=0)
    first = int(node.call("getLatestLedger")["closeTime"])
    node.close_ledgers(2)
    assert first == 1_735_689_600 and int(node.call("getLatestLedger")["closeTime"]) == first + 10


def test_friendbot_funds_by_post_as_well_as_get_and_refuses_an_existing_account(devnet_factory):
    node = devnet_factory(close_interval=0.05)
    by_post, by_form, by_get = Keypair.random(), Keypair.random(), Keypair.random()
    assert requests.post(f"{node.url}/friendbot", params={"addr": by_post.public_key}, timeout=30).status_code == 200
    assert requests.post(f"{node.url}/friendbot", data={"addr": by_form.public_key}, timeout=30).status_code == 200
    assert requests.get(f"{node.url}/friendbot", params={"addr": by_get.public_key}, timeout=30).status_code == 200
    again = requests.post(f"{node.url}/friendbot", params={"addr": by_post.public_key}, timeout=30)
    assert again.status_code == 400 and "createAccountAlreadyExist" in again.json()["detail"]
    server = node.server()
    assert all(server.load_account(k.public_key) for k in (by_post, by_form, by_get))


def test_the_farm_code_entry_is_a_wasm_module_with_the_contracts_spec_and_env_meta(devnet_factory):
    node = devnet_factory(close_interval=0)
    instance_key = storage.instance_ledger_key(node.info["farm_contract"])
    instance = xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([instance_key]).entries[0].xdr)
    code_hash = instance.contract_data.val.instance.executable.wasm_hash.hash
    code_key = xdr.LedgerKey(type=xdr.LedgerEntryType.CONTRACT_CODE,
                             contract_code=xdr.LedgerKeyContractCode(xdr.Hash(code_hash)))
    code = xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([code_key]).entries[0].xdr).contract_code.code
    sections = custom_sections(code)
    env = xdr.SCEnvMetaEntry.from_xdr_bytes(sections["contractenvmetav0"])
    assert env.interface_version.protocol.uint32 >= 23
    spec, names = sections["contractspecv0"], []
    unpacker = Unpacker(spec)
    while unpacker.get_position() < len(spec):
        entry = xdr.SCSpecEntry.unpack(unpacker)
        if entry.kind == xdr.SCSpecEntryKind.SC_SPEC_ENTRY_FUNCTION_V0:
            names.append(entry.function_v0.name.sc_symbol.decode())
    assert names == [name for name, _, _ in FUNCTIONS]
    assert {"plant", "work", "harvest", "upgrade", "pause", "unpause", "remove_block", "__check_auth"} <= set(names)


def test_plant_opening_a_new_block_does_not_read_the_previous_block(devnet_factory):
    node = devnet_factory(close_interval=0)
    contract = node.info["farm_contract"]
    first, second = new_funded_farmer(node, kale=10 * KALE), new_funded_farmer(node, kale=10 * KALE)
    assert prepare_and_send(node, first, calls.plant(contract, first.public_key, KALE)).status \
        == GetTransactionStatus.SUCCESS
    node.close_ledgers(61)  # past BLOCK_INTERVAL: the next plant opens block 1
    prepared = node.server().prepare_transaction(tx(node, second, calls.plant(contract, second.public_key, KALE)))
    footprint = prepared.transaction.soroban_data.resources.footprint
    keys = [k.to_xdr() for k in footprint.read_only + footprint.read_write]
    assert storage.block_ledger_key(contract, 0).to_xdr() not in keys
    assert storage.block_ledger_key(contract, 1).to_xdr() in keys


def test_remove_block_deletes_a_block_and_only_the_homesteader_may(devnet_factory):
    node = devnet_factory(close_interval=0)
    contract = node.info["farm_contract"]
    farmer = new_funded_farmer(node, kale=10 * KALE)
    assert prepare_and_send(node, farmer, calls.plant(contract, farmer.public_key, KALE)).status \
        == GetTransactionStatus.SUCCESS
    remove = calls.invoke(contract, "remove_block", [scval.to_uint32(0)])
    by_farmer = node.server().prepare_transaction(tx(node, farmer, remove))
    by_farmer.sign(farmer)  # the homesteader's auth entry stays unsigned
    assert send_and_wait(node, by_farmer).status == GetTransactionStatus.FAILED
    assert prepare_and_send(node, HOMESTEADER, remove).status == GetTransactionStatus.SUCCESS
    assert node.server().get_ledger_entries([storage.block_ledger_key(contract, 0)]).entries in ([], None)
    assert "Error(Contract, #11)" in simulation_error(
        node, farmer, calls.work(contract, farmer.public_key, bytes(32), 0))


def test_upgrade_needs_uploaded_code_and_the_homesteader(devnet_factory):
    node = devnet_factory(close_interval=0)
    contract = node.info["farm_contract"]
    instance_key = storage.instance_ledger_key(contract)
    current = xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([instance_key]).entries[0].xdr) \
        .contract_data.val.instance.executable.wasm_hash.hash
    missing = calls.invoke(contract, "upgrade", [scval.to_bytes(bytes(32))])
    assert "MissingValue" in simulation_error(node, HOMESTEADER, missing)
    same = calls.invoke(contract, "upgrade", [scval.to_bytes(current)])
    assert prepare_and_send(node, HOMESTEADER, same).status == GetTransactionStatus.SUCCESS
    farmer = new_funded_farmer(node, kale=10 * KALE)
    assert prepare_and_send(node, farmer, calls.plant(contract, farmer.public_key, KALE)).status \
        == GetTransactionStatus.SUCCESS  # the upgraded (same) code still farms


def test_check_auth_cannot_be_invoked_directly(devnet_factory):
    node = devnet_factory(close_interval=0)
    op = calls.invoke(node.info["farm_contract"], "__check_auth",
                      [scval.to_bytes(bytes(32)), xdr.SCVal(xdr.SCValType.SCV_VOID), scval.to_vec([])])
    assert "reserved" in simulation_error(node, HOMESTEADER, op)


def test_the_validator_signs_each_protocol_30_close_value(devnet_factory):
    node = devnet_factory(close_interval=0, protocol=30)
    node.close_ledgers(1)
    raw = base64.b64decode(node.call("getLatestLedger")["headerXdr"])
    close_time_ms = raw[84:92]
    signature = raw[132:196]
    network_id = hashlib.sha256(node.passphrase.encode()).digest()
    digest = hashlib.sha256(network_id + raw[36:68] + close_time_ms).digest()
    VerifyKey(validator().raw_public_key()).verify(digest, signature)


def farm_signed_mint(node, to: str, amount: int, with_homesteader: bool):
    """A SAC mint sent by the homesteader, authorized by the farm (the SAC's admin) through address
    credentials the farm's __check_auth accepts only with the homesteader's own authorization."""
    from stellar_sdk import Address

    from devnet.host import authorization_payload

    expiration = node.latest_ledger() + 100
    mint = xdr.InvokeContractArgs(Address(node.info["kale_sac"]).to_xdr_sc_address(), xdr.SCSymbol(b"mint"),
                                  [scval.to_address(to), scval.to_int128(amount)])
    contract_fn = xdr.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN
    root = xdr.SorobanAuthorizedInvocation(xdr.SorobanAuthorizedFunction(contract_fn, contract_fn=mint), [])
    farm_address = Address(node.info["farm_contract"]).to_xdr_sc_address()
    farm_entry = xdr.SorobanAuthorizationEntry(xdr.SorobanCredentials(
        xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS, address=xdr.SorobanAddressCredentials(
            farm_address, xdr.Int64(42), xdr.Uint32(expiration), xdr.SCVal(xdr.SCValType.SCV_VOID))), root)
    payload = authorization_payload(hashlib.sha256(node.passphrase.encode()).digest(), 42, expiration, root)
    check = xdr.InvokeContractArgs(farm_address, xdr.SCSymbol(b"__check_auth"), [scval.to_bytes(payload)])
    homesteader_entry = xdr.SorobanAuthorizationEntry(
        xdr.SorobanCredentials(xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT),
        xdr.SorobanAuthorizedInvocation(xdr.SorobanAuthorizedFunction(contract_fn, contract_fn=check), []))
    op = calls.invoke(node.info["kale_sac"], "mint", list(mint.args))
    op.auth = [farm_entry] + ([homesteader_entry] if with_homesteader else [])
    return tx(node, HOMESTEADER, op)


def test_the_farm_authorizes_as_a_custom_account_when_the_homesteader_approves_its_check_auth(devnet_factory):
    node = devnet_factory(close_interval=0)
    farmer = new_funded_farmer(node, kale=0)
    assert "did not authorize __check_auth" in node.server().simulate_transaction(
        farm_signed_mint(node, farmer.public_key, 7 * KALE, with_homesteader=False)).error
    envelope = node.server().prepare_transaction(farm_signed_mint(node, farmer.public_key, 7 * KALE, True))
    envelope.sign(HOMESTEADER)
    assert send_and_wait(node, envelope).status == GetTransactionStatus.SUCCESS
    balance = ChainClient(load_settings({}, rpc_url=node.rpc_url).network).kale_balance(farmer.public_key)
    assert balance == 7 * KALE
