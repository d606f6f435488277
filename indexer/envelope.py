"""Reading a transaction envelope: who sent it, which accounts it names, what it calls.

A single-operation contract invocation (every farm call) is read straight from the bytes up
to its arguments; its authorization entries and footprint, which follow, are never decoded.
Any other envelope (payments, merges, several operations) goes through stellar_sdk, which
also summarizes classic operations for the chain record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stellar_sdk import xdr

from chain.meta import skip_opaque, skip_optional, skip_sc_address, skip_scval, skip_signer_key, u32
from indexer.values import account, read_scval, sc_address, to_json

_OT = xdr.OperationType
_ENVELOPE_TX, _ENVELOPE_FEE_BUMP = 2, 5
_INVOKE_HOST_FUNCTION, _INVOKE_CONTRACT = 24, 0
_MEMO_SIZE = {0: 0, 2: 8, 3: 32, 4: 32}


@dataclass(frozen=True)
class Call:
    """A contract invocation: contract, function and JSON-able arguments."""

    contract: str
    function: str
    args: list[Any]


@dataclass(frozen=True)
class Envelope:
    """What the indexer needs of an envelope; `operations` only for non-invocations."""

    source: bytes
    fee_source: bytes | None
    parties: frozenset[bytes]
    call: Call | None = None
    operations: list[xdr.Operation] = field(default_factory=list)


def _muxed(data: bytes, pos: int) -> tuple[bytes, int]:
    if u32(data, pos) == 0:
        return data[pos + 4:pos + 36], pos + 36
    return data[pos + 12:pos + 44], pos + 44  # KEY_TYPE_MUXED_ED25519: id, then the key


def _skip_preconditions(data: bytes, pos: int) -> int | None:
    kind = u32(data, pos)
    if kind in (0, 1):
        return pos + 4 + 16 * kind
    if kind != 2:
        return None
    pos = skip_optional(data, skip_optional(data, skip_optional(data, pos + 4, 16), 8), 8) + 12
    count, pos = u32(data, pos), pos + 4
    for _ in range(count):
        pos = skip_signer_key(data, pos)
    return pos


def _fast(data: bytes) -> Envelope | None:
    """A single-operation InvokeContract envelope read from its bytes, else None."""
    kind, pos, fee_source = u32(data, 0), 4, None
    if kind == _ENVELOPE_FEE_BUMP:
        fee_source, pos = _muxed(data, pos)
        if u32(data, pos + 8) != _ENVELOPE_TX:
            return None
        pos += 12
    elif kind != _ENVELOPE_TX:
        return None
    source, pos = _muxed(data, pos)
    pos = _skip_preconditions(data, pos + 12)  # past fee and sequence number
    if pos is None:
        return None
    memo = u32(data, pos)
    pos = skip_opaque(data, pos + 4) if memo == 1 else pos + 4 + _MEMO_SIZE.get(memo, 0)
    if u32(data, pos) != 1:
        return None
    parties = {source} if fee_source is None else {source, fee_source}
    if u32(data, pos + 4):
        operation_source, pos = _muxed(data, pos + 8)
        parties.add(operation_source)
    else:
        pos += 8
    if u32(data, pos) != _INVOKE_HOST_FUNCTION or u32(data, pos + 4) != _INVOKE_CONTRACT:
        return None
    contract, pos = sc_address(data, pos + 8), skip_sc_address(data, pos + 8)
    function = data[pos + 4:pos + 4 + u32(data, pos)].decode("ascii", "backslashreplace")
    pos = skip_opaque(data, pos)
    count, pos, args = u32(data, pos), pos + 4, []
    for _ in range(count):
        if u32(data, pos) == 18 and u32(data, pos + 4) == 0:
            parties.add(data[pos + 12:pos + 44])
        args.append(read_scval(data, pos))
        pos = skip_scval(data, pos)
    return Envelope(source, fee_source, frozenset(parties), Call(contract, function, args))


def _muxed_key(muxed: xdr.MuxedAccount) -> bytes:
    if muxed.type == xdr.CryptoKeyType.KEY_TYPE_ED25519:
        return muxed.ed25519.uint256
    return muxed.med25519.ed25519.uint256


def _parties(source: bytes, fee_source: bytes | None, operations: list[xdr.Operation]) -> frozenset[bytes]:
    keys = {source} if fee_source is None else {source, fee_source}
    for operation in operations:
        if operation.source_account is not None:
            keys.add(_muxed_key(operation.source_account))
        body, kind = operation.body, operation.body.type
        if kind == _OT.PAYMENT:
            keys.add(_muxed_key(body.payment_op.destination))
        elif kind == _OT.CREATE_ACCOUNT:
            keys.add(body.create_account_op.destination.account_id.ed25519.uint256)
        elif kind == _OT.ACCOUNT_MERGE:
            keys.add(_muxed_key(body.destination))
        elif kind == _OT.PATH_PAYMENT_STRICT_RECEIVE:
            keys.add(_muxed_key(body.path_payment_strict_receive_op.destination))
        elif kind == _OT.PATH_PAYMENT_STRICT_SEND:
            keys.add(_muxed_key(body.path_payment_strict_send_op.destination))
        elif kind == _OT.CREATE_CLAIMABLE_BALANCE:
            keys.update(c.v0.destination.account_id.ed25519.uint256
                        for c in body.create_claimable_balance_op.claimants)
    return frozenset(keys)


def _with_sdk(data: bytes) -> Envelope:
    envelope = xdr.TransactionEnvelope.from_xdr_bytes(data)
    fee_source = None
    if envelope.type == xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        fee_source = _muxed_key(envelope.fee_bump.tx.fee_source)
        tx = envelope.fee_bump.tx.inner_tx.v1.tx
        source = _muxed_key(tx.source_account)
    elif envelope.type == xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0:
        tx = envelope.v0.tx
        source = tx.source_account_ed25519.uint256
    else:
        tx = envelope.v1.tx
        source = _muxed_key(tx.source_account)
    operations = list(tx.operations)
    parties = set(_parties(source, fee_source, operations))
    call = None
    host = operations[0].body.invoke_host_function_op if len(operations) == 1 else None
    if host is not None and host.host_function.type == xdr.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT:
        invoke = host.host_function.invoke_contract
        args = [to_json(arg) for arg in invoke.args]
        call = Call(sc_address(invoke.contract_address.to_xdr_bytes(), 0),
                    invoke.function_name.sc_symbol.decode("ascii", "backslashreplace"), args)
        parties.update(a.address.account_id.account_id.ed25519.uint256 for a in invoke.args
                       if a.type == xdr.SCValType.SCV_ADDRESS
                       and a.address.type == xdr.SCAddressType.SC_ADDRESS_TYPE_ACCOUNT)
        operations = []
    return Envelope(source, fee_source, frozenset(parties), call, operations)


def read_envelope(data: bytes) -> Envelope:
    """The envelope (XDR bytes) as the indexer needs it."""
    return _fast(data) or _with_sdk(data)


def _asset_name(asset: Any) -> str:
    """`native`, or `CODE:ISSUER`, of an Asset, ChangeTrustAsset or TrustLineAsset."""
    kind = asset.type.value
    if kind == 0:
        return "native"
    if kind == 1:
        code, issuer = asset.alpha_num4.asset_code.asset_code4, asset.alpha_num4.issuer
    elif kind == 2:
        code, issuer = asset.alpha_num12.asset_code.asset_code12, asset.alpha_num12.issuer
    else:
        return "pool_share"
    return f"{code.rstrip(bytes(1)).decode()}:{account(issuer.account_id.ed25519.uint256)}"


def _claimable_balance(op: xdr.CreateClaimableBalanceOp, result: xdr.OperationResult | None) -> dict[str, Any]:
    """Asset, amount, claimants and (from the result, when it succeeded) the new balance's id
    as hex of its ClaimableBalanceID XDR, the form Horizon shows."""
    item: dict[str, Any] = {"asset": _asset_name(op.asset), "amount": op.amount.int64,
                            "claimants": [account(c.v0.destination.account_id.ed25519.uint256) for c in op.claimants]}
    created = result.tr.create_claimable_balance_result if result is not None and result.tr is not None else None
    if created is not None and created.balance_id is not None:
        item["balance_id"] = created.balance_id.to_xdr_bytes().hex()
    return item


def classic_operations(operations: list[xdr.Operation], results: list[xdr.OperationResult]) -> list[dict[str, Any]]:
    """A JSON summary of classic operations: type, source if its own, destination, asset, amount."""
    summary = []
    for index, operation in enumerate(operations):
        body, kind = operation.body, operation.body.type
        item: dict[str, Any] = {"type": kind.name.lower()}
        if operation.source_account is not None:
            item["source"] = account(_muxed_key(operation.source_account))
        if kind == _OT.PAYMENT:
            op = body.payment_op
            item.update(destination=account(_muxed_key(op.destination)), asset=_asset_name(op.asset),
                        amount=op.amount.int64)
        elif kind == _OT.CREATE_ACCOUNT:
            op = body.create_account_op
            item.update(destination=account(op.destination.account_id.ed25519.uint256), asset="native",
                        amount=op.starting_balance.int64)
        elif kind == _OT.ACCOUNT_MERGE:
            item.update(destination=account(_muxed_key(body.destination)), asset="native")
            result = results[index].tr if index < len(results) else None
            merged = result.account_merge_result if result is not None else None
            if merged is not None and merged.source_account_balance is not None:
                item["amount"] = merged.source_account_balance.int64
        elif kind == _OT.PATH_PAYMENT_STRICT_RECEIVE:
            op = body.path_payment_strict_receive_op
            item.update(destination=account(_muxed_key(op.destination)), asset=_asset_name(op.dest_asset),
                        amount=op.dest_amount.int64)
        elif kind == _OT.CHANGE_TRUST:
            op = body.change_trust_op
            item.update(asset=_asset_name(op.line), limit=op.limit.int64)
        elif kind == _OT.CREATE_CLAIMABLE_BALANCE:
            item.update(_claimable_balance(body.create_claimable_balance_op,
                                           results[index] if index < len(results) else None))
        elif kind == _OT.CLAIM_CLAIMABLE_BALANCE:
            item["balance_id"] = body.claim_claimable_balance_op.balance_id.to_xdr_bytes().hex()
        summary.append(item)
    return summary
