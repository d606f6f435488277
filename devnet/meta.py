"""TransactionResult, TransactionMeta v4, ledger-entry changes and fee events, as stellar_sdk XDR."""
from __future__ import annotations

import hashlib

from stellar_sdk import Asset, Network, StrKey, scval, xdr

from devnet import entries as E
from devnet.host import contract_event
from devnet.state import View

_STATE = xdr.LedgerEntryChangeType.LEDGER_ENTRY_STATE
_CREATED = xdr.LedgerEntryChangeType.LEDGER_ENTRY_CREATED
_UPDATED = xdr.LedgerEntryChangeType.LEDGER_ENTRY_UPDATED
_REMOVED = xdr.LedgerEntryChangeType.LEDGER_ENTRY_REMOVED
_FIELD = {_STATE: "state", _CREATED: "created", _UPDATED: "updated"}


def _ttl_change(kind, key: bytes, entry: E.Entry, seq: int) -> xdr.LedgerEntryChange:
    return xdr.LedgerEntryChange(kind, **{_FIELD[kind]: E.ttl_entry(key, entry.live_until, seq)})


def changes(view: View, seq: int) -> xdr.LedgerEntryChanges:
    """The ledger-entry changes a view's writes make (with their TTL entries), in write order."""
    result = []
    for key, after in view.writes.items():
        before = view.before(key)
        ttl = (after or before) is not None and (after or before).live_until is not None
        if before is None and after is None:
            continue
        if before is None:
            result.append(xdr.LedgerEntryChange(_CREATED, created=after.ledger_entry()))
            if ttl:
                result.append(_ttl_change(_CREATED, key, after, seq))
        elif after is None:
            result.append(xdr.LedgerEntryChange(_STATE, state=before.ledger_entry()))
            result.append(xdr.LedgerEntryChange(_REMOVED, removed=E.key_of(before.data)))
            if ttl:
                result.append(xdr.LedgerEntryChange(_REMOVED, removed=E.ttl_ledger_key(key)))
        else:
            if not after.same_data(before):
                result.append(xdr.LedgerEntryChange(_STATE, state=before.ledger_entry()))
                result.append(xdr.LedgerEntryChange(_UPDATED, updated=after.ledger_entry()))
            if ttl and after.live_until != before.live_until:
                result.append(_ttl_change(_STATE, key, before, before.last_modified))
                result.append(_ttl_change(_UPDATED, key, after, seq))
    return xdr.LedgerEntryChanges(result)


def tx_result(fee_charged: int, code: xdr.TransactionResultCode,
              op_results: list[xdr.OperationResult] | None = None) -> xdr.TransactionResult:
    has_results = code in (xdr.TransactionResultCode.txSUCCESS, xdr.TransactionResultCode.txFAILED)
    return xdr.TransactionResult(xdr.Int64(fee_charged), xdr.TransactionResultResult(
        code, results=(op_results or []) if has_results else None), xdr.TransactionResultExt(0))


def fee_bump_result(fee_charged: int, inner_hash: bytes, inner: xdr.TransactionResult) -> xdr.TransactionResult:
    """Wrap an inner result as txFEE_BUMP_INNER_SUCCESS / txFEE_BUMP_INNER_FAILED."""
    ok = inner.result.code == xdr.TransactionResultCode.txSUCCESS
    inner_result = xdr.InnerTransactionResult(
        inner.fee_charged, xdr.InnerTransactionResultResult(inner.result.code, results=inner.result.results),
        xdr.InnerTransactionResultExt(0))
    code = (xdr.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS if ok
            else xdr.TransactionResultCode.txFEE_BUMP_INNER_FAILED)
    return xdr.TransactionResult(xdr.Int64(fee_charged), xdr.TransactionResultResult(
        code, inner_result_pair=xdr.InnerTransactionResultPair(xdr.Hash(inner_hash), inner_result)),
        xdr.TransactionResultExt(0))


def invoke_success_hash(return_value: xdr.SCVal, events: list[xdr.ContractEvent]) -> bytes:
    """The hash INVOKE_HOST_FUNCTION_SUCCESS carries: sha256 of the success preimage."""
    return hashlib.sha256(xdr.InvokeHostFunctionSuccessPreImage(return_value, events).to_xdr_bytes()).digest()


def transaction_meta(before: xdr.LedgerEntryChanges, operations: list[tuple[xdr.LedgerEntryChanges, list]],
                     soroban: bool, return_value: xdr.SCVal | None, tx_events: list[xdr.TransactionEvent],
                     diagnostic: list[xdr.DiagnosticEvent]) -> xdr.TransactionMeta:
    """TransactionMeta v4 (protocol 23)."""
    return xdr.TransactionMeta(4, v4=xdr.TransactionMetaV4(
        ext=xdr.ExtensionPoint(0), tx_changes_before=before,
        operations=[xdr.OperationMetaV2(xdr.ExtensionPoint(0), op_changes, op_events)
                    for op_changes, op_events in operations],
        tx_changes_after=xdr.LedgerEntryChanges([]),
        soroban_meta=(xdr.SorobanTransactionMetaV2(xdr.SorobanTransactionMetaExt(0), return_value)
                      if soroban else None),
        events=tx_events, diagnostic_events=diagnostic))


NATIVE_SAC = StrKey.decode_contract(Asset.native().contract_id(Network.STANDALONE_NETWORK_PASSPHRASE))


def fee_event(payer: str, amount: int) -> xdr.TransactionEvent:
    """The native SAC `fee` event charged before all transactions."""
    return xdr.TransactionEvent(
        xdr.TransactionEventStage.TRANSACTION_EVENT_STAGE_BEFORE_ALL_TXS,
        contract_event(NATIVE_SAC, [scval.to_symbol("fee"), scval.to_address(payer)], scval.to_int128(amount)))
