"""Every XDR decoder of the pool meets union arms stellar-sdk 16.1.1 does not know (protocol 30:
CAP-88 StellarValue arms, CAP-84 muxed contract addresses, and arms newer still): it reads what it
needs, skips what it cannot, never raises, and counts what it skipped."""
from __future__ import annotations

import base64
import hashlib

import pytest
from stellar_sdk import Address, Keypair, StrKey, scval, xdr

from chain import calls, ledger_header, meta, storage, tolerance, transactions
from chain.rpc import ChainClient
from config import load_settings
from config.networks import DEVNET
from indexer.decode import Scope, decode_event, decode_transaction
from indexer.source import RawEvent, RawTransaction

FARMER = Keypair.from_raw_ed25519_seed(hashlib.sha256(b"tolerance farmer").digest()).public_key
MARKER = hashlib.sha256(b"a contract only these tests use").digest()
MUX_ID = (2**64 - 1).to_bytes(8, "big")


def contract_address(raw: bytes) -> xdr.SCAddress:
    return Address(StrKey.encode_contract(raw)).to_xdr_sc_address()


def with_arm(data: bytes, arm: int) -> bytes:
    """`data` with the MARKER contract address turned into SCAddress arm `arm` (5: muxed contract)."""
    plain = (1).to_bytes(4, "big") + MARKER
    assert plain in data
    return data.replace(plain, arm.to_bytes(4, "big") + MUX_ID + MARKER)


def created(contract: xdr.SCAddress, key: xdr.SCVal, val: xdr.SCVal) -> xdr.LedgerEntryChange:
    entry = xdr.LedgerEntry(xdr.Uint32(5), xdr.LedgerEntryData(
        xdr.LedgerEntryType.CONTRACT_DATA, contract_data=xdr.ContractDataEntry(
            xdr.ExtensionPoint(0), contract, key, xdr.ContractDataDurability.TEMPORARY, val)),
        xdr.LedgerEntryExt(0))
    return xdr.LedgerEntryChange(xdr.LedgerEntryChangeType.LEDGER_ENTRY_CREATED, created=entry)


def event(topics: list[xdr.SCVal], data: xdr.SCVal) -> xdr.ContractEvent:
    return xdr.ContractEvent(xdr.ExtensionPoint(0), xdr.ContractID(xdr.Hash(bytes(32))),
                             xdr.ContractEventType.CONTRACT, xdr.ContractEventBody(
                                 0, v0=xdr.ContractEventV0(topics, data)))


def plant_meta(arm: int) -> bytes:
    """A protocol-23 shaped plant meta: the farm's Pail(farmer, 7), plus an entry and an event of a
    contract addressed with SCAddress arm `arm`."""
    farm = Address(DEVNET.farm_contract).to_xdr_sc_address()
    pail = created(farm, storage.pail_key(FARMER, 7), storage.pail_to_scval(
        storage.Pail(sequence=5, gap=None, stake=10, zeros=None)))
    muxed_key = xdr.SCVal(xdr.SCValType.SCV_ADDRESS, address=contract_address(MARKER))
    other = created(contract_address(MARKER), muxed_key, scval.to_uint32(1))
    transfer = event([scval.to_symbol("transfer"), muxed_key], scval.to_int128(3))
    v4 = xdr.TransactionMetaV4(
        xdr.ExtensionPoint(0), xdr.LedgerEntryChanges([]),
        [xdr.OperationMetaV2(xdr.ExtensionPoint(0), xdr.LedgerEntryChanges([other, pail]), [transfer])],
        xdr.LedgerEntryChanges([]),
        xdr.SorobanTransactionMetaV2(xdr.SorobanTransactionMetaExt(0), scval.to_void()), [], [])
    return with_arm(xdr.TransactionMeta(4, v4=v4).to_xdr_bytes(), arm)


def success_result() -> bytes:
    return xdr.TransactionResult(xdr.Int64(1234), xdr.TransactionResultResult(
        xdr.TransactionResultCode.txSUCCESS, results=[]), xdr.TransactionResultExt(0)).to_xdr_bytes()


def plant_envelope() -> bytes:
    from stellar_sdk import Account, TransactionBuilder
    envelope = (TransactionBuilder(Account(FARMER, 1), DEVNET.passphrase, 100)
                .append_operation(calls.plant(DEVNET.farm_contract, FARMER, 10)).set_timeout(0).build())
    return envelope.to_xdr_object().to_xdr_bytes()


def raw_plant(meta_bytes: bytes) -> RawTransaction:
    return RawTransaction("ab" * 32, 9, 1, "SUCCESS", False, 1_735_689_700,
                          base64.b64encode(plant_envelope()).decode(), base64.b64encode(success_result()).decode(),
                          base64.b64encode(meta_bytes).decode(), ())


def skips() -> int:
    return tolerance.skipped_total()


def test_the_sdk_itself_cannot_decode_a_muxed_contract_address():
    with pytest.raises(Exception):
        xdr.TransactionMeta.from_xdr_bytes(plant_meta(5))


def test_a_meta_with_a_muxed_contract_address_outlines_and_still_names_the_plants_block():
    before = skips()
    outlined = meta.outline(plant_meta(5))
    assert len(outlined.changes) == 2 and len(outlined.op_events[0]) == 1
    assert meta.pail_index(base64.b64encode(plant_meta(5)).decode(), DEVNET.farm_contract, FARMER) == 7
    assert skips() == before + 1  # the muxed-contract entry itself is left out of storage_changes


def test_a_meta_with_an_arm_newer_than_protocol_30_raises_unknown_arm_and_is_counted():
    with pytest.raises(tolerance.UnknownArm) as raised:
        meta.outline(plant_meta(6))
    assert raised.value.kind == "SCAddress" and raised.value.arm == 6
    before = skips()
    assert meta.pail_index(base64.b64encode(plant_meta(6)).decode(), DEVNET.farm_contract, FARMER) is None
    assert skips() == before + 1
    assert "meta SCAddress:6" in tolerance.skipped()


def test_the_indexer_decodes_a_plant_whose_meta_holds_a_muxed_contract_address():
    scope = Scope(DEVNET, True, frozenset())
    row, _ = decode_transaction(raw_plant(plant_meta(5)), scope)
    assert (row["kind"], row["farmer"], row["block_index"], row["stake"]) == ("plant", FARMER, 7, 10)


def test_the_indexer_keeps_a_plant_whose_meta_it_cannot_read_with_what_the_envelope_says():
    scope = Scope(DEVNET, True, frozenset())
    before = skips()
    row, _ = decode_transaction(raw_plant(plant_meta(6)), scope)
    assert (row["kind"], row["farmer"], row["successful"], row["fee_charged"]) == ("plant", FARMER, True, 1234)
    assert row["block_index"] is None and skips() == before + 1


def test_the_indexer_skips_an_envelope_it_cannot_read_and_counts_it():
    envelope = plant_envelope()
    farm = Address(DEVNET.farm_contract).to_xdr_sc_address().to_xdr_bytes()
    broken = envelope.replace(farm, (9).to_bytes(4, "big") + farm[4:], 1)
    raw = raw_plant(plant_meta(5))
    raw = RawTransaction(*[base64.b64encode(broken).decode() if f == "envelope" else getattr(raw, f)
                           for f in raw.__dataclass_fields__])
    before = skips()
    assert decode_transaction(raw, Scope(DEVNET, True, frozenset())) is None
    assert skips() == before + 1


def kale_event(to: bytes) -> RawEvent:
    topics = [scval.to_symbol("transfer").to_xdr_bytes(), scval.to_address(FARMER).to_xdr_bytes(), to,
              scval.to_string("KALE").to_xdr_bytes()]
    return RawEvent("0000000038654709760-0000000000", 9, "ab" * 32, DEVNET.kale_sac,
                    tuple(base64.b64encode(t).decode() for t in topics),
                    base64.b64encode(scval.to_int128(25).to_xdr_bytes()).decode())


def muxed_contract_scval(arm: int) -> bytes:
    return with_arm(xdr.SCVal(xdr.SCValType.SCV_ADDRESS, address=contract_address(MARKER)).to_xdr_bytes(), arm)


def test_a_kale_transfer_to_a_muxed_contract_is_a_movement_to_that_contract():
    movement = decode_event(kale_event(muxed_contract_scval(5)))
    assert (movement["kind"], movement["from_address"], movement["to_address"], movement["amount"]) == \
        ("transfer", FARMER, StrKey.encode_contract(MARKER), 25)


def test_an_event_with_an_unknown_address_arm_is_skipped_and_counted():
    before = skips()
    assert decode_event(kale_event(muxed_contract_scval(6))) is None
    assert skips() == before + 1


def p30_header(arm: int, close_time: int = 1_900_000_000) -> bytes:
    """A LedgerHeader whose StellarValue.ext is arm `arm` (3: CAP-88 SIGNED_MS), built as bytes."""
    header = xdr.LedgerHeader(
        ledger_version=xdr.Uint32(30), previous_ledger_hash=xdr.Hash(b"\x01" * 32),
        scp_value=xdr.StellarValue(xdr.Hash(b"\x02" * 32), xdr.TimePoint(xdr.Uint64(close_time)), [],
                                   xdr.StellarValueExt(xdr.StellarValueType.STELLAR_VALUE_BASIC)),
        tx_set_result_hash=xdr.Hash(bytes(32)), bucket_list_hash=xdr.Hash(bytes(32)), ledger_seq=xdr.Uint32(4242),
        total_coins=xdr.Int64(1), fee_pool=xdr.Int64(0), inflation_seq=xdr.Uint32(0), id_pool=xdr.Uint64(0),
        base_fee=xdr.Uint32(100), base_reserve=xdr.Uint32(5_000_000), max_tx_set_size=xdr.Uint32(100),
        skip_list=[xdr.Hash(bytes(32))] * 4, ext=xdr.LedgerHeaderExt(0)).to_xdr_bytes()
    signature = b"\x07" * 64
    ext = arm.to_bytes(4, "big") + (close_time * 1000 + 250).to_bytes(8, "big") + bytes(4) + b"\x03" * 32 \
        + len(signature).to_bytes(4, "big") + signature
    return header[:80] + ext + header[84:]


def test_a_protocol_30_header_gives_its_millisecond_close_time_and_sequence():
    with pytest.raises(Exception):
        xdr.LedgerHeader.from_xdr_bytes(p30_header(3))
    header = ledger_header.read_header(p30_header(3))
    assert (header.protocol_version, header.sequence, header.close_time) == (30, 4242, 1_900_000_000)
    assert header.close_time_ms == 1_900_000_000_250 and header.previous_hash == b"\x01" * 32


def test_a_header_with_an_unknown_stellar_value_arm_still_gives_its_version_and_close_time():
    before = skips()
    header = ledger_header.read_header(p30_header(9))
    assert (header.protocol_version, header.close_time, header.sequence) == (30, 1_900_000_000, None)
    assert skips() == before + 1 and "ledger header StellarValueType:9" in tolerance.skipped()


class _Found:
    """The fields of a GetTransactionResponse the classifiers read."""

    def __init__(self, meta_bytes: bytes, result: bytes):
        self.result_meta_xdr = base64.b64encode(meta_bytes).decode()
        self.result_xdr = base64.b64encode(result).decode()
        self.diagnostic_events_xdr = []


def test_reading_a_transaction_whose_meta_holds_unknown_arms_returns_nothing_rather_than_raising():
    failed = xdr.TransactionResult(xdr.Int64(100), xdr.TransactionResultResult(
        xdr.TransactionResultCode.txFAILED, results=[]), xdr.TransactionResultExt(0)).to_xdr_bytes()
    found = _Found(plant_meta(6), failed)
    assert transactions.return_value(found) is None
    assert transactions.classify_failed(found).kind == "rejected"
    assert transactions.return_value(_Found(plant_meta(5), failed)) == scval.to_void()


def test_a_result_code_newer_than_the_sdk_is_a_named_rejection():
    unknown = (100).to_bytes(8, "big") + (-99).to_bytes(4, "big", signed=True) + bytes(4)
    failure = transactions.classify_result(base64.b64encode(unknown).decode())
    assert (failure.kind, failure.code) == ("rejected", "result code -99")


def test_a_ledger_entry_the_sdk_cannot_decode_is_left_out_and_counted(monkeypatch):
    client = ChainClient(DEVNET)
    readable = storage.block_ledger_key(DEVNET.farm_contract, 1)
    entry = created(contract_address(MARKER), xdr.SCVal(xdr.SCValType.SCV_ADDRESS,
                                                        address=contract_address(MARKER)), scval.to_uint32(1))
    monkeypatch.setattr(client, "raw_entries", lambda keys: {
        "muxed": (with_arm(entry.created.data.to_xdr_bytes(), 5), 10),
        readable.to_xdr(): (entry.created.data.to_xdr_bytes(), 11)})
    before = skips()
    assert list(client.ledger_entries([readable])) == [readable.to_xdr()]
    assert skips() == before + 1


def test_the_pool_client_reads_a_protocol_30_devnet(devnet_factory):
    node = devnet_factory(close_interval=0, protocol=30)
    node.close_ledgers(2)
    client = ChainClient(load_settings({}, rpc_url=node.rpc_url).network)
    latest = client.latest_ledger()
    assert latest.protocol_version == 30 and latest.close_time_ms == latest.close_time * 1000
    assert client.network_version().protocol_version == 30
    funded = Keypair.random()
    node.fund(funded.public_key)
    assert client.account(funded.public_key).balance == 10_000 * 10_000_000
    assert client.farm_state().index == 0


def test_health_reports_the_networks_protocol_version(db, api_settings, devnet_factory):
    import dataclasses

    from web.app import create_app

    node = devnet_factory(close_interval=0, protocol=30)
    client = create_app(dataclasses.replace(api_settings, rpc_url=node.rpc_url)).test_client()
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and body["protocol_version"] == 30
    assert body["rpc_version"].startswith("30.") and isinstance(body["xdr_skipped"], int)
