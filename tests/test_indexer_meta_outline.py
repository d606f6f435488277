"""chain.meta.outline: the spans it finds in a TransactionMeta are exactly stellar_sdk's parts."""
from __future__ import annotations

from stellar_sdk import Address, Asset, Keypair, StrKey, scval, xdr

from chain import storage
from chain.kale import Block, Pail
from chain.meta import outline

FARM = "CDGCCLIS6P3ECPTM5XGU4MM5UKMWVIWKA6LVDVNAXX5LLQ4SUOSWYDIA"
KEY = Keypair.from_raw_ed25519_seed(bytes(range(32)))
C = xdr.LedgerEntryChange
T = xdr.LedgerEntryChangeType


def _account_id(keypair=KEY):
    return keypair.xdr_account_id()


def _entry(data: xdr.LedgerEntryData, sponsored: bool = False) -> xdr.LedgerEntry:
    ext = (xdr.LedgerEntryExt(1, v1=xdr.LedgerEntryExtensionV1(
        xdr.SponsorshipDescriptor(_account_id(Keypair.random())), xdr.LedgerEntryExtensionV1Ext(0)))
        if sponsored else xdr.LedgerEntryExt(0))
    return xdr.LedgerEntry(xdr.Uint32(9), data, ext)


def _contract_data(key: xdr.SCVal, val: xdr.SCVal, temporary: bool = True) -> xdr.LedgerEntryData:
    durability = xdr.ContractDataDurability(0 if temporary else 1)
    return xdr.LedgerEntryData(xdr.LedgerEntryType.CONTRACT_DATA, contract_data=xdr.ContractDataEntry(
        xdr.ExtensionPoint(0), Address(FARM).to_xdr_sc_address(), key, durability, val))


def _rich_account() -> xdr.LedgerEntryData:
    signers = [xdr.Signer(xdr.SignerKey(xdr.SignerKeyType.SIGNER_KEY_TYPE_ED25519, ed25519=xdr.Uint256(b"\1" * 32)),
                          xdr.Uint32(1)),
               xdr.Signer(xdr.SignerKey(xdr.SignerKeyType.SIGNER_KEY_TYPE_ED25519_SIGNED_PAYLOAD,
                                        ed25519_signed_payload=xdr.SignerKeyEd25519SignedPayload(
                                            xdr.Uint256(b"\2" * 32), b"payload")), xdr.Uint32(2))]
    v3 = xdr.AccountEntryExtensionV3(xdr.ExtensionPoint(0), xdr.Uint32(5), xdr.TimePoint(xdr.Uint64(6)))
    v2 = xdr.AccountEntryExtensionV2(xdr.Uint32(1), xdr.Uint32(0),
                                     [xdr.SponsorshipDescriptor(None), xdr.SponsorshipDescriptor(_account_id())],
                                     xdr.AccountEntryExtensionV2Ext(3, v3=v3))
    v1 = xdr.AccountEntryExtensionV1(xdr.Liabilities(xdr.Int64(1), xdr.Int64(2)),
                                     xdr.AccountEntryExtensionV1Ext(2, v2=v2))
    return xdr.LedgerEntryData(xdr.LedgerEntryType.ACCOUNT, account=xdr.AccountEntry(
        _account_id(), xdr.Int64(10), xdr.SequenceNumber(xdr.Int64(11)), xdr.Uint32(2), _account_id(),
        xdr.Uint32(0), xdr.String32(b"example.org"), xdr.Thresholds(b"\1\0\0\0"), signers,
        xdr.AccountEntryExt(1, v1=v1)))


def _trustline(code: str, extended: bool) -> xdr.LedgerEntryData:
    asset = xdr.TrustLineAsset.from_xdr_bytes(Asset(code, KEY.public_key).to_xdr_object().to_xdr_bytes())
    ext = xdr.TrustLineEntryExt(0)
    if extended:
        ext = xdr.TrustLineEntryExt(1, v1=xdr.TrustLineEntryV1(
            xdr.Liabilities(xdr.Int64(0), xdr.Int64(0)), xdr.TrustLineEntryV1Ext(
                2, v2=xdr.TrustLineEntryExtensionV2(xdr.Int32(3), xdr.TrustLineEntryExtensionV2Ext(0)))))
    return xdr.LedgerEntryData(xdr.LedgerEntryType.TRUSTLINE, trust_line=xdr.TrustLineEntry(
        _account_id(), asset, xdr.Int64(5), xdr.Int64(2**62), xdr.Uint32(1), ext))


def _instance() -> xdr.SCVal:
    storage_map = xdr.SCMap([xdr.SCMapEntry(storage.farm_index_key(), scval.to_uint32(7)),
                             xdr.SCMapEntry(storage.farm_block_key(), storage.block_to_scval(
                                 Block(1, 2, 3, 4, 5, 6, 7, b"\7" * 32, 8, 9)))])
    executable = xdr.ContractExecutable(xdr.ContractExecutableType.CONTRACT_EXECUTABLE_WASM,
                                        wasm_hash=xdr.Hash(b"\3" * 32))
    return xdr.SCVal(xdr.SCValType.SCV_CONTRACT_INSTANCE,
                     instance=xdr.SCContractInstance(executable, storage_map))


def _changes() -> list[xdr.LedgerEntryChange]:
    pail_key = storage.pail_key(KEY.public_key, 7)
    pail = storage.pail_to_scval(Pail(sequence=3, gap=4, stake=5, zeros=6))
    odd_values = scval.to_vec([scval.to_int256(-5), scval.to_bytes(b"abc"), scval.to_string("x"),
                               scval.to_bool(True), scval.to_void(), scval.to_duration(3),
                               xdr.SCVal(xdr.SCValType.SCV_ERROR, error=xdr.SCError(
                                   xdr.SCErrorType.SCE_CONTRACT, contract_code=xdr.Uint32(8))),
                               xdr.SCVal(xdr.SCValType.SCV_VEC, vec=None),
                               scval.to_map({scval.to_symbol("k"): scval.to_address(FARM)})])
    code = xdr.LedgerEntryData(xdr.LedgerEntryType.CONTRACT_CODE, contract_code=xdr.ContractCodeEntry(
        xdr.ContractCodeEntryExt(0), xdr.Hash(b"\4" * 32), b"\0asm\1\0\0\0extra"))
    ttl = xdr.LedgerEntryData(xdr.LedgerEntryType.TTL, ttl=xdr.TTLEntry(xdr.Hash(b"\5" * 32), xdr.Uint32(99)))
    data_entry = xdr.LedgerEntryData(xdr.LedgerEntryType.DATA, data=xdr.DataEntry(
        _account_id(), xdr.String64(b"name"), xdr.DataValue(b"value"), xdr.DataEntryExt(0)))
    removed_pail = xdr.LedgerKey(xdr.LedgerEntryType.CONTRACT_DATA, contract_data=xdr.LedgerKeyContractData(
        Address(FARM).to_xdr_sc_address(), pail_key, xdr.ContractDataDurability(0)))
    removed_line = xdr.LedgerKey(xdr.LedgerEntryType.TRUSTLINE, trust_line=xdr.LedgerKeyTrustLine(
        _account_id(), _trustline("KALE", False).trust_line.asset))
    removed_data = xdr.LedgerKey(xdr.LedgerEntryType.DATA, data=xdr.LedgerKeyData(_account_id(), xdr.String64(b"n")))
    return [
        C(T.LEDGER_ENTRY_CREATED, created=_entry(_contract_data(pail_key, pail))),
        C(T.LEDGER_ENTRY_STATE, state=_entry(_contract_data(xdr.SCVal(
            xdr.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE), _instance(), temporary=False))),
        C(T.LEDGER_ENTRY_UPDATED, updated=_entry(_rich_account(), sponsored=True)),
        C(T.LEDGER_ENTRY_UPDATED, updated=_entry(_trustline("KALE", True))),
        C(T.LEDGER_ENTRY_UPDATED, updated=_entry(_trustline("LONGERCODE", False))),
        C(T.LEDGER_ENTRY_CREATED, created=_entry(code)),
        C(T.LEDGER_ENTRY_RESTORED, restored=_entry(ttl)),
        C(T.LEDGER_ENTRY_CREATED, created=_entry(data_entry)),
        C(T.LEDGER_ENTRY_CREATED, created=_entry(_contract_data(scval.to_symbol("odd"), odd_values))),
        C(T.LEDGER_ENTRY_REMOVED, removed=removed_pail),
        C(T.LEDGER_ENTRY_REMOVED, removed=removed_line),
        C(T.LEDGER_ENTRY_REMOVED, removed=removed_data),
    ]


def _event(name: str, amount: int) -> xdr.ContractEvent:
    return xdr.ContractEvent(xdr.ExtensionPoint(0), xdr.ContractID(xdr.Hash(StrKey.decode_contract(FARM))),
                             xdr.ContractEventType.CONTRACT, xdr.ContractEventBody(0, v0=xdr.ContractEventV0(
                                 [scval.to_symbol(name), scval.to_address(KEY.public_key)],
                                 scval.to_int128(amount))))


def _diagnostic() -> xdr.DiagnosticEvent:
    event = xdr.ContractEvent(xdr.ExtensionPoint(0), None, xdr.ContractEventType.DIAGNOSTIC,
                              xdr.ContractEventBody(0, v0=xdr.ContractEventV0(
                                  [scval.to_symbol("error"), xdr.SCVal(xdr.SCValType.SCV_ERROR, error=xdr.SCError(
                                      xdr.SCErrorType.SCE_CONTRACT, contract_code=xdr.Uint32(9)))],
                                  scval.to_string("PailMissing"))))
    return xdr.DiagnosticEvent(False, event)


def _assert_changes(result, changes):
    assert len(result.changes) == len(changes)
    for span, change in zip(result.changes, changes):
        assert span.change == change.type.value
        if change.type == T.LEDGER_ENTRY_REMOVED:
            expected = change.removed.to_xdr_bytes()
        else:
            entry = change.created or change.updated or change.state or change.restored
            expected = entry.to_xdr_bytes()[4:]  # without lastModifiedLedgerSeq
        assert span.entry_type == int.from_bytes(expected[:4], "big")
        assert result.data[span.start:span.end] == expected


def test_outline_of_a_v4_meta_finds_each_operation_change_the_return_value_and_the_events():
    changes = _changes()
    fee_event = xdr.TransactionEvent(xdr.TransactionEventStage.TRANSACTION_EVENT_STAGE_AFTER_TX, _event("fee", 1))
    ext = xdr.SorobanTransactionMetaExt(1, v1=xdr.SorobanTransactionMetaExtV1(
        xdr.ExtensionPoint(0), xdr.Int64(1), xdr.Int64(2), xdr.Int64(3)))
    meta = xdr.TransactionMeta(4, v4=xdr.TransactionMetaV4(
        xdr.ExtensionPoint(0), xdr.LedgerEntryChanges(changes[2:4]),
        [xdr.OperationMetaV2(xdr.ExtensionPoint(0), xdr.LedgerEntryChanges(changes),
                             [_event("burn", 5), _event("mint", 6)])],
        xdr.LedgerEntryChanges(changes[:1]),
        xdr.SorobanTransactionMetaV2(ext, scval.to_int128(-42)), [fee_event], [_diagnostic()]))
    result = outline(meta.to_xdr_bytes())
    _assert_changes(result, changes)
    assert [[result.decode(s, xdr.ContractEvent) for s in op] for op in result.op_events] == \
        [[_event("burn", 5), _event("mint", 6)]]
    assert scval.from_int128(result.decode(result.return_value, xdr.SCVal)) == -42
    assert [result.decode(s, xdr.ContractEvent) for s in result.diagnostic_events] == [_diagnostic().event]


def test_outline_of_a_v3_meta_finds_the_soroban_events_and_return_value():
    changes = _changes()[:3]
    meta = xdr.TransactionMeta(3, v3=xdr.TransactionMetaV3(
        xdr.ExtensionPoint(0), xdr.LedgerEntryChanges([]), [xdr.OperationMeta(xdr.LedgerEntryChanges(changes))],
        xdr.LedgerEntryChanges([]), xdr.SorobanTransactionMeta(
            xdr.SorobanTransactionMetaExt(0), [_event("mint", 7)], scval.to_uint32(12), [_diagnostic()])))
    result = outline(meta.to_xdr_bytes())
    _assert_changes(result, changes)
    assert result.decode(result.return_value, xdr.SCVal) == scval.to_uint32(12)
    assert result.decode(result.op_events[0][0], xdr.ContractEvent) == _event("mint", 7)
    assert len(result.diagnostic_events) == 1


def test_outline_of_a_classic_v4_meta_has_changes_and_no_return_value():
    changes = _changes()[2:5]
    meta = xdr.TransactionMeta(4, v4=xdr.TransactionMetaV4(
        xdr.ExtensionPoint(0), xdr.LedgerEntryChanges([]),
        [xdr.OperationMetaV2(xdr.ExtensionPoint(0), xdr.LedgerEntryChanges(changes), [])] * 2,
        xdr.LedgerEntryChanges([]), None, [], []))
    result = outline(meta.to_xdr_bytes())
    _assert_changes(result, changes * 2)
    assert result.return_value is None and result.op_events == [[], []]
