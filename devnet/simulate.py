"""simulateTransaction: run one Soroban operation against the next ledger without committing it.

Returns the footprint and resources (as SorobanTransactionData whose resourceFee
equals minResourceFee), the recorded auth entries, the return value, events and
state changes, in the shape `prepare_transaction` accepts. A failed invocation is
a normal result with `error` = "HostError: Error(Contract, #N)...".
"""
from __future__ import annotations

import base64

from stellar_sdk import xdr

from devnet import fees
from devnet.contracts import sac
from devnet.entries import muxed_address
from devnet.host import INSTRUCTIONS_PER_CALL, Host, HostError, LedgerInfo, error_event
from devnet.operations import WASM
from devnet.state import State, View
from devnet.validation import Tx


def _b64(obj) -> str:
    return base64.b64encode(obj.to_xdr_bytes()).decode()


def _transaction_data(state: State, view: View, read_only: list[xdr.LedgerKey],
                      read_write: list[xdr.LedgerKey], instructions: int) -> tuple[xdr.SorobanTransactionData, int]:
    read_bytes = 0
    for key in read_only + read_write:
        entry = state.get(key.to_xdr_bytes())
        read_bytes += len(entry.data_bytes) if entry is not None else 0
    write_bytes = sum(len(view.writes[k].data_bytes) for k in (key.to_xdr_bytes() for key in read_write)
                      if view.writes.get(k) is not None)
    resources = xdr.SorobanResources(xdr.LedgerFootprint(read_only, read_write), xdr.Uint32(instructions),
                                     xdr.Uint32(read_bytes), xdr.Uint32(write_bytes))
    fee = fees.resource_fee(resources)
    return xdr.SorobanTransactionData(xdr.SorobanTransactionDataExt(0), resources, xdr.Int64(fee)), fee


def _state_changes(view: View) -> list[dict]:
    changes = []
    for key, after in view.writes.items():
        before = view.before(key)
        kind = "created" if before is None else ("deleted" if after is None else "updated")
        changes.append({"type": kind, "key": base64.b64encode(key).decode(),
                        "before": _b64(before.ledger_entry()) if before else None,
                        "after": _b64(after.ledger_entry()) if after else None})
    return changes


def simulate(state: State, tx: Tx, ledger: LedgerInfo, auth_mode: str | None) -> dict:
    """The simulateTransaction result fields (without latestLedger)."""
    ops = tx.operations
    if len(ops) != 1:
        return {"error": "simulation requires exactly one operation"}
    if tx.tx.memo.type != xdr.MemoType.MEMO_NONE:
        return {"error": "memos are not supported with Soroban transactions"}
    op = ops[0]
    source = muxed_address(op.source_account) if op.source_account else tx.source
    kind = op.body.type
    if kind in (xdr.OperationType.EXTEND_FOOTPRINT_TTL, xdr.OperationType.RESTORE_FOOTPRINT):
        if tx.soroban is None:
            return {"error": "extend/restore operations need sorobanData with their footprint"}
        footprint = tx.soroban.resources.footprint
        data, fee = _transaction_data(state, View(state), list(footprint.read_only), list(footprint.read_write), 0)
        return {"transactionData": _b64(data), "minResourceFee": str(fee), "events": [], "results": []}
    if kind != xdr.OperationType.INVOKE_HOST_FUNCTION:
        return {"error": "simulation requires a Soroban operation"}
    invoke = op.body.invoke_host_function_op
    if invoke.host_function.type != xdr.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT:
        return {"error": "only contract invocations are supported by the devnet"}
    declared = list(invoke.auth)
    mode = auth_mode or ("enforce" if declared else "record")
    if mode not in ("enforce", "record", "record_allow_nonroot"):
        return {"error": f"invalid authMode {auth_mode!r}"}
    if mode != "enforce" and declared:
        return {"error": "auth entries are already present: recording auth is not allowed"}
    view = View(state)
    host = Host(view, ledger, source, wasm=WASM, asset_contract=sac.call, footprint=None,
                auth=None if mode != "enforce" else declared)
    try:
        value = host.invoke(invoke.host_function.invoke_contract)
        auth = host.recorded_auth_entries() if mode != "enforce" else declared
    except HostError as exc:
        event = error_event(exc).diagnostic_xdr(False)
        return {"error": f"HostError: {exc}\n\nEvent log (newest first):\n   0: [Diagnostic Event] "
                         f"topics:[error, {exc}], data:\"{exc.reason}\"",
                "events": [base64.b64encode(event).decode()]}
    read_write = [lk for kb, lk in host.recorded_keys.items() if kb in host.recorded_rw]
    read_only = [lk for kb, lk in host.recorded_keys.items() if kb not in host.recorded_rw]
    data, fee = _transaction_data(state, view, read_only, read_write, INSTRUCTIONS_PER_CALL * host.calls)
    return {
        "transactionData": _b64(data),
        "minResourceFee": str(fee),
        "events": [base64.b64encode(e.diagnostic_xdr(True)).decode() for e in host.events],
        "results": [{"auth": [_b64(a) for a in auth], "xdr": _b64(value)}],
        "stateChanges": _state_changes(view),
    }
