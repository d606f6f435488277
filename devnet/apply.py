"""Applying one transaction in a closing ledger: fee, sequence number, operations, result and meta.

A transaction that is no longer valid when its ledger closes (its time bound
passed, its sequence number is stale, its fee source went broke) is dropped, as
core drops it from the transaction set: it never appears on chain. A transaction
whose source `devnet_failNext` marked lands as failed (fee charged, sequence
number used, its first operation failing with a natural code, nothing else done).
"""
from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import xdr

from devnet import entries as E
from devnet import meta, validation
from devnet.events import Event, fee_event
from devnet.host import LedgerInfo
from devnet.operations import OpOutcome, apply_operation, natural_failure, op_error
from devnet.state import State, View
from devnet.validation import Rejected, Tx


@dataclass
class Applied:
    """A transaction's outcome as the ledger records it."""

    success: bool
    fee_charged: int
    result: bytes  # TransactionResult XDR
    meta: bytes  # TransactionMeta XDR
    tx_events: list[Event]
    contract_events: list[list[Event]]
    diagnostic: list[Event]


def _debit_fee(state: State, tx: Tx, seq: int) -> None:
    view = View(state)
    key = E.account_key_bytes(tx.fee_source)
    account = view.get(key)
    view.put(key, E.Entry(E.with_account(account.data, balance=E.account_balance(account.data) - tx.charge), seq))
    view.commit()


def _bump_sequence(state: State, tx: Tx, seq: int) -> bytes:
    view = View(state)
    key = E.account_key_bytes(tx.source)
    account = view.get(key)
    view.put(key, E.Entry(E.with_account(account.data, seq=tx.seq), seq))
    changes = meta.changes(view, seq)
    view.commit()
    return changes


def _marked_to_fail(state: State, source: str) -> bool:
    """Whether devnet_failNext asked for this transaction of `source` to fail (uses up one of its count)."""
    left = state.fail_next.get(source, 0)
    if left <= 0:
        return False
    if left == 1:
        del state.fail_next[source]
    else:
        state.fail_next[source] = left - 1
    return True


def apply_transaction(state: State, tx: Tx, ledger: LedgerInfo, passphrase: str) -> Applied | None:
    """Apply `tx` to `state` in `ledger`; None if it is dropped as invalid."""
    seq = ledger.seq
    source = state.get(E.account_key_bytes(tx.source))
    try:
        validation.check_time(tx, ledger.timestamp, seq)
        validation.check_account(tx, source, state.get(E.account_key_bytes(tx.fee_source)),
                                 E.account_seq(source.data) + 1 if source else 0, 0)
    except Rejected:
        return None
    _debit_fee(state, tx, seq)
    tx_events = [fee_event(tx.fee_source, tx.charge)]
    before = _bump_sequence(state, tx, seq)
    fail = _marked_to_fail(state, tx.source)

    tx_view = View(state)
    outcomes: list[OpOutcome] = []
    op_meta = []
    for index, op in enumerate(tx.operations):
        if fail and index == 0:
            outcomes.append(natural_failure(op))
            continue
        op_source = E.muxed_address(op.source_account) if op.source_account else tx.source
        if tx_view.get(E.account_key_bytes(op_source)) is None:
            outcomes.append(op_error(xdr.OperationResultCode.opNO_ACCOUNT))
            continue
        op_view = View(tx_view)
        outcome = apply_operation(op_view, ledger, passphrase, op_source, op, tx.soroban, tx.footprint,
                                  (tx.source, tx.seq, index))
        outcomes.append(outcome)
        if outcome.success:
            op_meta.append((meta.changes(op_view, seq), outcome.events))
            op_view.commit()
    success = all(o.success for o in outcomes)
    if success:
        tx_view.commit()
    code = xdr.TransactionResultCode.txSUCCESS if success else xdr.TransactionResultCode.txFAILED
    result = meta.tx_result(tx.charge, code, [o.result for o in outcomes])
    if tx.fee_bump is not None:
        result = meta.fee_bump_result(tx.charge, tx.inner_hash, result)
    diagnostic = [d for o in outcomes for d in o.diagnostic]
    soroban = tx.soroban is not None
    return_value = outcomes[0].return_value if soroban and success else None
    transaction_meta = meta.transaction_meta(before, op_meta if success else [], soroban, return_value,
                                             tx_events, diagnostic)
    return Applied(success, tx.charge, result.to_xdr_bytes(), transaction_meta, tx_events,
                   [o.events for o in outcomes] if success else [[] for _ in outcomes], diagnostic)
