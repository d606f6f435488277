"""Applying operations: create_account, payment, change_trust, account_merge, claimable balances, Soroban ops.

Each `apply_*` works on a View of the transaction's state and returns an
`OpOutcome` (OperationResult, contract events, Soroban return value, diagnostics).
Classic operations emit the protocol-23 SAC events (transfer / mint / burn) under
the asset's contract address, as core does with EMIT_CLASSIC_EVENTS; a claimable
balance appears in them as its SC_ADDRESS_TYPE_CLAIMABLE_BALANCE address (CAP-67).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from stellar_sdk import Asset, StrKey, scval, xdr

from devnet import entries as E
from devnet import predicates
from devnet.assets import AssetError, Ledgered, adjust, asset_string, authorized
from devnet.contracts import farm, sac
from devnet.events import Event
from devnet.genesis import FARM_WASM_HASH
from devnet.host import Host, HostError, LedgerInfo, error_event
from devnet.meta import invoke_success_hash
from devnet.state import View, is_archived, is_temporary_key

OpType = xdr.OperationType
WASM = {FARM_WASM_HASH: farm.call}


@dataclass
class OpOutcome:
    result: xdr.OperationResult
    success: bool
    events: list[Event] = field(default_factory=list)
    return_value: bytes | None = None  # ScVal XDR
    diagnostic: list[Event] = field(default_factory=list)


def _result(op_type: xdr.OperationType, attribute: str, value, success: bool, **extra) -> OpOutcome:
    tr = xdr.OperationResultTr(op_type, **{attribute: value})
    return OpOutcome(xdr.OperationResult(xdr.OperationResultCode.opINNER, tr=tr), success, **extra)


def op_error(code: xdr.OperationResultCode) -> OpOutcome:
    """An operation failing before it runs (opNO_ACCOUNT, opNOT_SUPPORTED)."""
    return OpOutcome(xdr.OperationResult(code), False)


@lru_cache(maxsize=64)
def _sac_id(asset_xdr: bytes, passphrase: str) -> bytes:
    return StrKey.decode_contract(Asset.from_xdr_object(xdr.Asset.from_xdr_bytes(asset_xdr)).contract_id(passphrase))


def _value_event(asset: Asset, passphrase: str, source: str, destination: str, amount: int) -> Event:
    """The SAC event a classic movement of `asset` emits (issuer out = mint, issuer in = burn)."""
    name = scval.to_string(asset_string(asset))
    if not asset.is_native() and source == asset.issuer:
        topics = [scval.to_symbol("mint"), scval.to_address(destination), name]
    elif not asset.is_native() and destination == asset.issuer:
        topics = [scval.to_symbol("burn"), scval.to_address(source), name]
    else:
        topics = [scval.to_symbol("transfer"), scval.to_address(source), scval.to_address(destination), name]
    return Event.of(_sac_id(asset.to_xdr_object().to_xdr_bytes(), passphrase), topics, scval.to_int128(amount))


def _account(view: View, address: str) -> tuple[bytes, E.Entry | None]:
    key = E.account_key_bytes(address)
    return key, view.get(key)


def _available(entry: E.Entry) -> int:
    return E.account_balance(entry.data) - E.min_balance(entry.data)


def apply_create_account(view: View, seq: int, passphrase: str, source: str,
                         op: xdr.CreateAccountOp) -> OpOutcome:
    codes = xdr.CreateAccountResultCode
    destination = E.account_address(op.destination)
    amount = op.starting_balance.int64

    def done(code):
        return _result(OpType.CREATE_ACCOUNT, "create_account_result", xdr.CreateAccountResult(code),
                       code == codes.CREATE_ACCOUNT_SUCCESS,
                       events=[_value_event(Asset.native(), passphrase, source, destination, amount)]
                       if code == codes.CREATE_ACCOUNT_SUCCESS else [])

    if amount <= 0 or destination == source:
        return done(codes.CREATE_ACCOUNT_MALFORMED)
    dest_key, dest = _account(view, destination)
    if dest is not None:
        return done(codes.CREATE_ACCOUNT_ALREADY_EXIST)
    if amount < 2 * E.BASE_RESERVE:
        return done(codes.CREATE_ACCOUNT_LOW_RESERVE)
    src_key, src = _account(view, source)
    if _available(src) < amount:
        return done(codes.CREATE_ACCOUNT_UNDERFUNDED)
    view.put(src_key, E.Entry(E.with_account(src.data, balance=E.account_balance(src.data) - amount), seq))
    view.put(dest_key, E.Entry(E.new_account(destination, amount, seq << E.ACCOUNT_SEQ_SHIFT), seq))
    return done(codes.CREATE_ACCOUNT_SUCCESS)


def apply_payment(view: View, seq: int, passphrase: str, source: str, op: xdr.PaymentOp) -> OpOutcome:
    codes = xdr.PaymentResultCode
    destination = E.muxed_address(op.destination)
    amount = op.amount.int64
    asset = Asset.from_xdr_object(op.asset)

    def done(code):
        ok = code == codes.PAYMENT_SUCCESS
        return _result(OpType.PAYMENT, "payment_result", xdr.PaymentResult(code), ok,
                       events=[_value_event(asset, passphrase, source, destination, amount)] if ok else [])

    if amount <= 0:
        return done(codes.PAYMENT_MALFORMED)
    dest_key, dest = _account(view, destination)
    if dest is None:
        return done(codes.PAYMENT_NO_DESTINATION)
    if asset.is_native():
        src_key, src = _account(view, source)
        if _available(src) < amount:
            return done(codes.PAYMENT_UNDERFUNDED)
        view.put(src_key, E.Entry(E.with_account(src.data, balance=E.account_balance(src.data) - amount), seq))
        _, dest = _account(view, destination)
        view.put(dest_key, E.Entry(E.with_account(dest.data, balance=E.account_balance(dest.data) + amount), seq))
        return done(codes.PAYMENT_SUCCESS)
    _, issuer = _account(view, asset.issuer)
    if issuer is None:
        return done(codes.PAYMENT_NO_ISSUER)
    store = Ledgered(view, seq)
    try:
        adjust(store, source, asset, -amount)
    except AssetError as exc:
        return done(codes.PAYMENT_SRC_NO_TRUST if exc.reason == "no_trust" else codes.PAYMENT_UNDERFUNDED)
    try:
        adjust(store, destination, asset, amount)
    except AssetError as exc:
        return done(codes.PAYMENT_NO_TRUST if exc.reason == "no_trust" else codes.PAYMENT_LINE_FULL)
    return done(codes.PAYMENT_SUCCESS)


def apply_change_trust(view: View, seq: int, source: str, op: xdr.ChangeTrustOp) -> OpOutcome:
    codes = xdr.ChangeTrustResultCode

    def done(code):
        return _result(OpType.CHANGE_TRUST, "change_trust_result", xdr.ChangeTrustResult(code),
                       code == codes.CHANGE_TRUST_SUCCESS)

    line = op.line
    limit = op.limit.int64
    if line.type not in (xdr.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4, xdr.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12) \
            or limit < 0:
        return done(codes.CHANGE_TRUST_MALFORMED)
    asset = Asset.from_xdr_object(xdr.Asset.from_xdr_bytes(line.to_xdr_bytes()))
    if asset.issuer == source:
        return done(codes.CHANGE_TRUST_SELF_NOT_ALLOWED)
    _, issuer = _account(view, asset.issuer)
    if issuer is None:
        return done(codes.CHANGE_TRUST_NO_ISSUER)
    line_key = E.trustline_key_bytes(source, asset)
    existing = view.get(line_key)
    src_key, src = _account(view, source)
    if existing is not None:
        balance = existing.data.trust_line.balance.int64
        if limit < balance:
            return done(codes.CHANGE_TRUST_INVALID_LIMIT)
        if limit == 0:
            view.delete(line_key)
            view.put(src_key, E.Entry(E.with_account(src.data, sub_entries_delta=-1), seq))
        else:
            view.put(line_key, E.Entry(E.with_trustline(existing.data, limit=limit), seq))
        return done(codes.CHANGE_TRUST_SUCCESS)
    if limit == 0:
        return done(codes.CHANGE_TRUST_INVALID_LIMIT)
    if E.account_balance(src.data) < E.min_balance(src.data) + E.BASE_RESERVE:
        return done(codes.CHANGE_TRUST_LOW_RESERVE)
    view.put(src_key, E.Entry(E.with_account(src.data, sub_entries_delta=1), seq))
    view.put(line_key, E.Entry(E.new_trustline(source, asset, limit), seq))
    return done(codes.CHANGE_TRUST_SUCCESS)


def apply_account_merge(view: View, seq: int, passphrase: str, source: str,
                        destination_muxed: xdr.MuxedAccount) -> OpOutcome:
    codes = xdr.AccountMergeResultCode
    destination = E.muxed_address(destination_muxed)

    def done(code, amount=None):
        ok = code == codes.ACCOUNT_MERGE_SUCCESS
        return _result(OpType.ACCOUNT_MERGE, "account_merge_result",
                       xdr.AccountMergeResult(code, xdr.Int64(amount) if ok else None), ok,
                       events=[_value_event(Asset.native(), passphrase, source, destination, amount)] if ok else [])

    if destination == source:
        return done(codes.ACCOUNT_MERGE_MALFORMED)
    dest_key, dest = _account(view, destination)
    if dest is None:
        return done(codes.ACCOUNT_MERGE_NO_ACCOUNT)
    src_key, src = _account(view, source)
    if src.data.account.num_sub_entries.uint32:
        return done(codes.ACCOUNT_MERGE_HAS_SUB_ENTRIES)
    if E.account_seq(src.data) >= seq << E.ACCOUNT_SEQ_SHIFT:
        return done(codes.ACCOUNT_MERGE_SEQNUM_TOO_FAR)
    if E.sponsorship(src.data)[1]:
        return done(codes.ACCOUNT_MERGE_IS_SPONSOR)
    amount = E.account_balance(src.data)
    view.delete(src_key)
    view.put(dest_key, E.Entry(E.with_account(dest.data, balance=E.account_balance(dest.data) + amount), seq))
    return done(codes.ACCOUNT_MERGE_SUCCESS, amount)


def _claimants_valid(claimants: list[xdr.Claimant]) -> bool:
    """Core's checkValid on claimants: at least one, no destination twice, every predicate valid."""
    destinations = {c.v0.destination.to_xdr_bytes() for c in claimants}
    return bool(claimants) and len(destinations) == len(claimants) and all(
        predicates.valid(c.v0.predicate) for c in claimants)


def _credit_line(view: View, holder: str, asset: Asset) -> str | None:
    """Why `holder` cannot move `asset` ("no_trust", "not_authorized"), or None (the issuer always can)."""
    if holder == asset.issuer:
        return None
    line = view.get(E.trustline_key_bytes(holder, asset))
    if line is None:
        return "no_trust"
    return None if authorized(line.data) else "not_authorized"


def apply_create_claimable_balance(view: View, ledger: LedgerInfo, passphrase: str, source: str,
                                   op: xdr.CreateClaimableBalanceOp,
                                   balance_id: xdr.ClaimableBalanceID) -> OpOutcome:
    """Move `amount` out of the source into a new claimable balance the source sponsors (one reserve per claimant)."""
    codes = xdr.CreateClaimableBalanceResultCode
    amount = op.amount.int64

    def done(code):
        ok = code == codes.CREATE_CLAIMABLE_BALANCE_SUCCESS
        return _result(OpType.CREATE_CLAIMABLE_BALANCE, "create_claimable_balance_result",
                       xdr.CreateClaimableBalanceResult(code, balance_id if ok else None), ok,
                       events=[_value_event(asset, passphrase, source, E.balance_address(balance_id), amount)]
                       if ok else [])

    try:
        asset = Asset.from_xdr_object(op.asset)
    except (ValueError, TypeError):
        return done(codes.CREATE_CLAIMABLE_BALANCE_MALFORMED)
    if amount <= 0 or not _claimants_valid(op.claimants):
        return done(codes.CREATE_CLAIMABLE_BALANCE_MALFORMED)
    src_key, src = _account(view, source)
    if asset.is_native():
        if _available(src) < amount:
            return done(codes.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED)
        view.put(src_key, E.Entry(E.with_account(src.data, balance=E.account_balance(src.data) - amount),
                                  ledger.seq))
    else:
        refusal = _credit_line(view, source, asset)
        if refusal is not None:
            return done(codes.CREATE_CLAIMABLE_BALANCE_NO_TRUST if refusal == "no_trust"
                        else codes.CREATE_CLAIMABLE_BALANCE_NOT_AUTHORIZED)
        try:
            adjust(Ledgered(view, ledger.seq), source, asset, -amount)
        except AssetError:
            return done(codes.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED)
    _, src = _account(view, source)
    reserves = len(op.claimants)
    if _available(src) < reserves * E.BASE_RESERVE:
        return done(codes.CREATE_CLAIMABLE_BALANCE_LOW_RESERVE)
    view.put(src_key, E.Entry(E.with_account(src.data, sponsoring_delta=reserves), ledger.seq))
    claimants = [xdr.Claimant(c.type, xdr.ClaimantV0(c.v0.destination, predicates.absolute(c.v0.predicate,
                                                                                           ledger.timestamp)))
                 for c in op.claimants]
    view.put(E.claimable_balance_key(balance_id).to_xdr_bytes(),
             E.Entry(E.new_claimable_balance(balance_id, claimants, op.asset, amount), ledger.seq,
                     ext=E.sponsored_by(source)))
    return done(codes.CREATE_CLAIMABLE_BALANCE_SUCCESS)


def apply_claim_claimable_balance(view: View, ledger: LedgerInfo, passphrase: str, source: str,
                                  op: xdr.ClaimClaimableBalanceOp) -> OpOutcome:
    """Pay a claimable balance to a claimant whose predicate holds; the entry goes and its sponsor's reserve with it."""
    codes = xdr.ClaimClaimableBalanceResultCode
    key = E.claimable_balance_key(op.balance_id).to_xdr_bytes()
    entry = view.get(key)

    def done(code):
        ok = code == codes.CLAIM_CLAIMABLE_BALANCE_SUCCESS
        return _result(OpType.CLAIM_CLAIMABLE_BALANCE, "claim_claimable_balance_result",
                       xdr.ClaimClaimableBalanceResult(code), ok,
                       events=[_value_event(asset, passphrase, E.balance_address(op.balance_id), source, amount)]
                       if ok else [])

    if entry is None:
        return done(codes.CLAIM_CLAIMABLE_BALANCE_DOES_NOT_EXIST)
    balance = entry.data.claimable_balance
    claimant = next((c.v0 for c in balance.claimants if E.account_address(c.v0.destination) == source), None)
    if claimant is None or not predicates.holds(claimant.predicate, ledger.timestamp):
        return done(codes.CLAIM_CLAIMABLE_BALANCE_CANNOT_CLAIM)
    asset = Asset.from_xdr_object(balance.asset)
    amount = balance.amount.int64
    if asset.is_native():
        src_key, src = _account(view, source)
        if E.account_balance(src.data) > E.MAX_INT64 - amount:
            return done(codes.CLAIM_CLAIMABLE_BALANCE_LINE_FULL)
        view.put(src_key, E.Entry(E.with_account(src.data, balance=E.account_balance(src.data) + amount), ledger.seq))
    else:
        refusal = _credit_line(view, source, asset)
        if refusal is not None:
            return done(codes.CLAIM_CLAIMABLE_BALANCE_NO_TRUST if refusal == "no_trust"
                        else codes.CLAIM_CLAIMABLE_BALANCE_NOT_AUTHORIZED)
        try:
            adjust(Ledgered(view, ledger.seq), source, asset, amount)
        except AssetError:
            return done(codes.CLAIM_CLAIMABLE_BALANCE_LINE_FULL)
    sponsor = E.sponsor_of(entry)
    if sponsor is not None:
        sponsor_key, sponsor_entry = _account(view, sponsor)
        view.put(sponsor_key, E.Entry(E.with_account(sponsor_entry.data, sponsoring_delta=-len(balance.claimants)),
                                      ledger.seq))
    view.delete(key)
    return done(codes.CLAIM_CLAIMABLE_BALANCE_SUCCESS)


def apply_invoke(view: View, ledger: LedgerInfo, source: str, op: xdr.InvokeHostFunctionOp,
                 footprint: tuple[set[bytes], set[bytes]]) -> OpOutcome:
    codes = xdr.InvokeHostFunctionResultCode
    if op.host_function.type != xdr.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT:
        return op_error(xdr.OperationResultCode.opNOT_SUPPORTED)
    host = Host(view, ledger, source, wasm=WASM, asset_contract=sac.call,
                footprint=footprint, auth=list(op.auth))
    try:
        value = host.invoke(op.host_function.invoke_contract)
    except HostError as exc:
        contract = host.stack[-1].contract if host.stack else None
        return _result(OpType.INVOKE_HOST_FUNCTION, "invoke_host_function_result",
                       xdr.InvokeHostFunctionResult(codes.INVOKE_HOST_FUNCTION_TRAPPED), False,
                       diagnostic=[error_event(exc, StrKey.decode_contract(contract) if contract else None)])
    value_xdr = value.to_xdr_bytes()
    success = xdr.InvokeHostFunctionResult(codes.INVOKE_HOST_FUNCTION_SUCCESS,
                                           xdr.Hash(invoke_success_hash(value_xdr, host.events)))
    return _result(OpType.INVOKE_HOST_FUNCTION, "invoke_host_function_result", success, True,
                   events=host.events, return_value=value_xdr)


def apply_extend_ttl(view: View, ledger: LedgerInfo, op: xdr.ExtendFootprintTTLOp,
                     data: xdr.SorobanTransactionData) -> OpOutcome:
    codes = xdr.ExtendFootprintTTLResultCode
    footprint = data.resources.footprint
    extend_to = op.extend_to.uint32
    if footprint.read_write or extend_to > ledger.max_ttl - 1 or any(
            k.type not in (xdr.LedgerEntryType.CONTRACT_DATA, xdr.LedgerEntryType.CONTRACT_CODE)
            for k in footprint.read_only):
        return _result(OpType.EXTEND_FOOTPRINT_TTL, "extend_footprint_ttl_result",
                       xdr.ExtendFootprintTTLResult(codes.EXTEND_FOOTPRINT_TTL_MALFORMED), False)
    target = ledger.seq + extend_to
    for key_obj in footprint.read_only:
        key = key_obj.to_xdr_bytes()
        entry = view.get(key)
        if entry is None or is_archived(key, entry, ledger.seq) or entry.live_until >= target:
            continue
        view.put(key, entry.with_ttl(target))
    return _result(OpType.EXTEND_FOOTPRINT_TTL, "extend_footprint_ttl_result",
                   xdr.ExtendFootprintTTLResult(codes.EXTEND_FOOTPRINT_TTL_SUCCESS), True)


def apply_restore(view: View, ledger: LedgerInfo, data: xdr.SorobanTransactionData) -> OpOutcome:
    codes = xdr.RestoreFootprintResultCode
    footprint = data.resources.footprint
    keys = [k.to_xdr_bytes() for k in footprint.read_write]
    if footprint.read_only or any(is_temporary_key(k) for k in keys) or any(
            k.type not in (xdr.LedgerEntryType.CONTRACT_DATA, xdr.LedgerEntryType.CONTRACT_CODE)
            for k in footprint.read_write):
        return _result(OpType.RESTORE_FOOTPRINT, "restore_footprint_result",
                       xdr.RestoreFootprintResult(codes.RESTORE_FOOTPRINT_MALFORMED), False)
    for key in keys:
        entry = view.get(key)
        if entry is not None and is_archived(key, entry, ledger.seq):
            view.put(key, entry.with_ttl(ledger.seq + ledger.persistent_ttl - 1))
    return _result(OpType.RESTORE_FOOTPRINT, "restore_footprint_result",
                   xdr.RestoreFootprintResult(codes.RESTORE_FOOTPRINT_SUCCESS), True)


_NATURAL_FAILURE = {
    OpType.CREATE_ACCOUNT: ("create_account_result", xdr.CreateAccountResult,
                            xdr.CreateAccountResultCode.CREATE_ACCOUNT_UNDERFUNDED),
    OpType.PAYMENT: ("payment_result", xdr.PaymentResult, xdr.PaymentResultCode.PAYMENT_UNDERFUNDED),
    OpType.CHANGE_TRUST: ("change_trust_result", xdr.ChangeTrustResult,
                          xdr.ChangeTrustResultCode.CHANGE_TRUST_LOW_RESERVE),
    OpType.ACCOUNT_MERGE: ("account_merge_result", xdr.AccountMergeResult,
                           xdr.AccountMergeResultCode.ACCOUNT_MERGE_HAS_SUB_ENTRIES),
    OpType.CREATE_CLAIMABLE_BALANCE: ("create_claimable_balance_result", xdr.CreateClaimableBalanceResult,
                                      xdr.CreateClaimableBalanceResultCode.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED),
    OpType.CLAIM_CLAIMABLE_BALANCE: ("claim_claimable_balance_result", xdr.ClaimClaimableBalanceResult,
                                     xdr.ClaimClaimableBalanceResultCode.CLAIM_CLAIMABLE_BALANCE_CANNOT_CLAIM),
    OpType.INVOKE_HOST_FUNCTION: ("invoke_host_function_result", xdr.InvokeHostFunctionResult,
                                  xdr.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_TRAPPED),
    OpType.EXTEND_FOOTPRINT_TTL: ("extend_footprint_ttl_result", xdr.ExtendFootprintTTLResult,
                                  xdr.ExtendFootprintTTLResultCode.EXTEND_FOOTPRINT_TTL_RESOURCE_LIMIT_EXCEEDED),
    OpType.RESTORE_FOOTPRINT: ("restore_footprint_result", xdr.RestoreFootprintResult,
                               xdr.RestoreFootprintResultCode.RESTORE_FOOTPRINT_RESOURCE_LIMIT_EXCEEDED),
}


def natural_failure(op: xdr.Operation) -> OpOutcome:
    """A plausible failure of `op` that changes nothing (devnet_failNext): UNDERFUNDED, TRAPPED, ..."""
    failure = _NATURAL_FAILURE.get(op.body.type)
    if failure is None:
        return op_error(xdr.OperationResultCode.opNOT_SUPPORTED)
    attribute, result_type, code = failure
    return _result(op.body.type, attribute, result_type(code), False)


def apply_operation(view: View, ledger: LedgerInfo, passphrase: str, source: str, op: xdr.Operation,
                    data: xdr.SorobanTransactionData | None, footprint: tuple[set[bytes], set[bytes]],
                    op_id: tuple[str, int, int]) -> OpOutcome:
    """Apply one operation whose source account exists; `view` is dropped by the caller on failure.

    `op_id` is (transaction source, transaction sequence number, operation index): what names a balance it creates.
    """
    body = op.body
    kind = body.type
    seq = ledger.seq
    if kind == OpType.CREATE_ACCOUNT:
        return apply_create_account(view, seq, passphrase, source, body.create_account_op)
    if kind == OpType.PAYMENT:
        return apply_payment(view, seq, passphrase, source, body.payment_op)
    if kind == OpType.CHANGE_TRUST:
        return apply_change_trust(view, seq, source, body.change_trust_op)
    if kind == OpType.ACCOUNT_MERGE:
        return apply_account_merge(view, seq, passphrase, source, body.destination)
    if kind == OpType.CREATE_CLAIMABLE_BALANCE:
        return apply_create_claimable_balance(view, ledger, passphrase, source, body.create_claimable_balance_op,
                                              E.operation_balance_id(*op_id))
    if kind == OpType.CLAIM_CLAIMABLE_BALANCE:
        return apply_claim_claimable_balance(view, ledger, passphrase, source, body.claim_claimable_balance_op)
    if kind == OpType.INVOKE_HOST_FUNCTION:
        return apply_invoke(view, ledger, source, body.invoke_host_function_op, footprint)
    if kind == OpType.EXTEND_FOOTPRINT_TTL:
        return apply_extend_ttl(view, ledger, body.extend_footprint_ttl_op, data)
    if kind == OpType.RESTORE_FOOTPRINT:
        return apply_restore(view, ledger, data)
    return op_error(xdr.OperationResultCode.opNOT_SUPPORTED)
