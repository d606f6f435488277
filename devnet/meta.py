"""TransactionResult, TransactionMeta v4 and ledger-entry changes, as XDR.

The meta is assembled from bytes every entry already caches (the same bytes the
state persists), so a transaction's entries are encoded once, not once per use.
"""
from __future__ import annotations

import hashlib
import struct

from stellar_sdk import xdr

from devnet.entries import Entry
from devnet.events import Event
from devnet.state import View

_I32 = struct.Struct(">i").pack
_U32 = struct.Struct(">I").pack
CREATED, UPDATED, REMOVED, STATE = 0, 1, 2, 3
_TTL = _I32(9)
_EXT_V0 = _I32(0)


def _entry(entry: Entry) -> bytes:
    """LedgerEntry XDR: lastModifiedLedgerSeq, data, ext (v1 names a sponsor)."""
    return _U32(entry.last_modified) + entry.data_bytes + entry.ext


def _ttl(key_hash: bytes, live_until: int, last_modified: int) -> bytes:
    return _U32(last_modified) + _TTL + key_hash + _U32(live_until) + _EXT_V0


def changes(view: View, seq: int) -> bytes:
    """LedgerEntryChanges XDR for a view's writes (with their TTL entries), in write order."""
    out = []
    for key, after in view.writes.items():
        before = view.before(key)
        if before is None and after is None:
            continue
        has_ttl = (after or before).live_until is not None
        key_hash = hashlib.sha256(key).digest() if has_ttl else b""
        if before is None:
            out.append(_I32(CREATED) + _entry(after))
            if has_ttl:
                out.append(_I32(CREATED) + _ttl(key_hash, after.live_until, seq))
        elif after is None:
            out.append(_I32(STATE) + _entry(before))
            out.append(_I32(REMOVED) + key)
            if has_ttl:
                out.append(_I32(REMOVED) + _TTL + key_hash)
        else:
            if not after.same_data(before):
                out.append(_I32(STATE) + _entry(before))
                out.append(_I32(UPDATED) + _entry(after))
            if has_ttl and after.live_until != before.live_until:
                out.append(_I32(STATE) + _ttl(key_hash, before.live_until, before.last_modified))
                out.append(_I32(UPDATED) + _ttl(key_hash, after.live_until, seq))
    return _U32(len(out)) + b"".join(out)


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


def _events(events: list[Event]) -> bytes:
    return _U32(len(events)) + b"".join(e.to_xdr_bytes() for e in events)


def invoke_success_hash(return_value: bytes, events: list[Event]) -> bytes:
    """The hash INVOKE_HOST_FUNCTION_SUCCESS carries: sha256 of InvokeHostFunctionSuccessPreImage."""
    return hashlib.sha256(return_value + _events(events)).digest()


def transaction_meta(before: bytes, operations: list[tuple[bytes, list[Event]]], soroban: bool,
                     return_value: bytes | None, tx_events: list[Event], diagnostic: list[Event]) -> bytes:
    """TransactionMeta v4 XDR (protocol 23)."""
    parts = [_I32(4), _EXT_V0, before, _U32(len(operations))]
    for op_changes, op_events in operations:
        parts += [_EXT_V0, op_changes, _events(op_events)]
    parts.append(_U32(0))  # txChangesAfter: nothing is refunded
    if soroban:
        parts += [_I32(1), _EXT_V0, _I32(1) + return_value if return_value is not None else _I32(0)]
    else:
        parts.append(_I32(0))
    parts.append(_U32(len(tx_events)) + b"".join(e.transaction_event_xdr() for e in tx_events))
    parts.append(_U32(len(diagnostic)) + b"".join(e.diagnostic_xdr(False) for e in diagnostic))
    return b"".join(parts)
