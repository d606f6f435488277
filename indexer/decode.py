"""Decoding RPC items into chain rows: a transaction into its `chain_transactions` row, a KALE
asset event into a `chain_kale_movements` row.

Only what the pool needs is decoded. The envelope tells whether a transaction is kept at
all (it invokes the farm, or names an address the pool knows); the meta is outlined, not
decoded, and only the farm's `Pail(farmer, index)` change, the return value and, for a
failed call, the contract error are read from it. The farm publishes no events, so the
block a plant or work belonged to comes from that Pail key.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stellar_sdk import Address, StrKey, scval, xdr

from chain import meta, storage
from config import Network
from indexer.source import RawEvent, RawTransaction

FARM_FUNCTIONS = ("plant", "work", "harvest")
MOVEMENT_KINDS = ("mint", "burn", "transfer", "clawback")
_PAIL_KEY_PREFIX = (xdr.SCVal(xdr.SCValType.SCV_VEC, vec=xdr.SCVec([])).to_xdr_bytes()[:4]
                    + b"\x00\x00\x00\x01\x00\x00\x00\x03" + scval.to_symbol("Pail").to_xdr_bytes())
_FEE_BUMP = (xdr.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS,
             xdr.TransactionResultCode.txFEE_BUMP_INNER_FAILED)
_OT = xdr.OperationType


def toid(ledger: int, order: int, operation: int = 0) -> int:
    """The TOID of an operation: ledger, 1-based transaction order, 0-based operation index."""
    return ledger << 32 | order << 12 | operation


def event_id(ledger: int, order: int, operation: int, index: int) -> str:
    """The getEvents id of an operation's `index`-th event."""
    return f"{toid(ledger, order, operation):019d}-{index:010d}"


@lru_cache(maxsize=65536)
def account(raw: bytes) -> str:
    """The G... address of a raw ed25519 key."""
    return StrKey.encode_ed25519_public_key(raw)


@dataclass(frozen=True)
class Scope:
    """What to keep: every farm call (`everything`) or only those touching `known` addresses."""

    network: Network
    everything: bool
    known: frozenset[str]

    @property
    def farm_address(self) -> bytes:
        return _sc_address_bytes(self.network.farm_contract)

    @property
    def known_keys(self) -> frozenset[bytes]:
        return _raw_keys(self.known)


@lru_cache(maxsize=8)
def _sc_address_bytes(contract: str) -> bytes:
    return Address(contract).to_xdr_sc_address().to_xdr_bytes()


@lru_cache(maxsize=8)
def _raw_keys(addresses: frozenset[str]) -> frozenset[bytes]:
    return frozenset(StrKey.decode_ed25519_public_key(a) for a in addresses if a.startswith("G"))


def _muxed_key(muxed: xdr.MuxedAccount) -> bytes:
    if muxed.type == xdr.CryptoKeyType.KEY_TYPE_ED25519:
        return muxed.ed25519.uint256
    return muxed.med25519.ed25519.uint256


def _address_key(value: xdr.SCVal) -> bytes | None:
    if value.type != xdr.SCValType.SCV_ADDRESS:
        return None
    address = value.address
    if address.type == xdr.SCAddressType.SC_ADDRESS_TYPE_ACCOUNT:
        return address.account_id.account_id.ed25519.uint256
    return None


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


def to_json(value: xdr.SCVal) -> Any:
    """A JSON-able form of an SCVal: ints stay exact, addresses are strkeys, bytes are hex."""
    return _jsonable(scval.to_native(value))


def _jsonable(native: Any) -> Any:
    if isinstance(native, Address):
        return native.address
    if isinstance(native, (bytes, bytearray)):
        return bytes(native).hex()
    if isinstance(native, list):
        return [_jsonable(item) for item in native]
    if isinstance(native, dict):
        return {str(_jsonable(k)): _jsonable(v) for k, v in native.items()}
    if isinstance(native, xdr.SCVal):
        if native.type == xdr.SCValType.SCV_ERROR:
            return {"error": native.error.type.name, "code": _error_code(native.error)}
        return native.to_xdr()
    return native


def _error_code(error: xdr.SCError) -> int:
    return error.contract_code.uint32 if error.contract_code is not None else error.code.value


def _contract_error(events: list[xdr.ContractEvent]) -> int | None:
    for event in events:
        body = event.body.v0
        for value in [*body.topics, body.data]:
            if value.type == xdr.SCValType.SCV_ERROR and value.error.type == xdr.SCErrorType.SCE_CONTRACT:
                return value.error.contract_code.uint32
    return None


@dataclass(frozen=True)
class _Envelope:
    source: bytes
    fee_source: bytes | None
    operations: list[xdr.Operation]


def _envelope(envelope_xdr: str) -> _Envelope:
    envelope = xdr.TransactionEnvelope.from_xdr_bytes(base64.b64decode(envelope_xdr))
    if envelope.type == xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        outer = envelope.fee_bump.tx
        inner = outer.inner_tx.v1.tx
        return _Envelope(_muxed_key(inner.source_account), _muxed_key(outer.fee_source), inner.operations)
    if envelope.type == xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0:
        tx = envelope.v0.tx
        return _Envelope(tx.source_account_ed25519.uint256, None, tx.operations)
    tx = envelope.v1.tx
    return _Envelope(_muxed_key(tx.source_account), None, tx.operations)


def _invocation(operation: xdr.Operation) -> xdr.InvokeContractArgs | None:
    if operation.body.type != _OT.INVOKE_HOST_FUNCTION:
        return None
    function = operation.body.invoke_host_function_op.host_function
    if function.type != xdr.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT:
        return None
    return function.invoke_contract


def _parties(envelope: _Envelope) -> set[bytes]:
    """Raw keys of every account the envelope names: sources, destinations, address arguments."""
    keys = {envelope.source}
    if envelope.fee_source:
        keys.add(envelope.fee_source)
    for operation in envelope.operations:
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
        elif kind == _OT.INVOKE_HOST_FUNCTION:
            call = _invocation(operation)
            keys.update(k for k in (_address_key(a) for a in (call.args if call else [])) if k)
    return keys


@dataclass(frozen=True)
class _Result:
    fee_charged: int
    code: str
    operations: list[xdr.OperationResult]


def _result(result_xdr: str) -> _Result:
    result = xdr.TransactionResult.from_xdr_bytes(base64.b64decode(result_xdr))
    body = result.result
    if body.code in _FEE_BUMP:
        body = body.inner_result_pair.result.result
    code = body.code.name
    operations = list(body.results or [])
    failed = next((op for op in operations if _operation_code(op) not in ("", "SUCCESS")), None)
    if failed is not None and code != "txSUCCESS":
        code = f"{code}:{_operation_code(failed, full=True)}"
    return _Result(result.fee_charged.int64, code, operations)


def _operation_code(result: xdr.OperationResult, full: bool = False) -> str:
    if result.code != xdr.OperationResultCode.opINNER:
        return result.code.name
    inner = getattr(result.tr, f"{result.tr.type.name.lower()}_result", None)
    if inner is None:
        return ""
    name = inner.code.name
    if full:
        return name
    return "SUCCESS" if name.endswith("_SUCCESS") else name


def _classic_operations(envelope: _Envelope, result: _Result) -> list[dict[str, Any]]:
    summary = []
    for index, operation in enumerate(envelope.operations):
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
            merged = result.operations[index].tr.account_merge_result if index < len(result.operations) \
                and result.operations[index].tr is not None else None
            if merged is not None and merged.source_account_balance is not None:
                item["amount"] = merged.source_account_balance.int64
        elif kind == _OT.PATH_PAYMENT_STRICT_RECEIVE:
            op = body.path_payment_strict_receive_op
            item.update(destination=account(_muxed_key(op.destination)), asset=_asset_name(op.dest_asset),
                        amount=op.dest_amount.int64)
        elif kind == _OT.CHANGE_TRUST:
            op = body.change_trust_op
            item.update(asset=_asset_name(op.line), limit=op.limit.int64)
        summary.append(item)
    return summary


def classic_kale_movements(row: dict[str, Any], operations: list[dict[str, Any]],
                           network: Network) -> list[dict[str, Any]]:
    """The KALE movements of a successful classic transaction's payments, under the event ids
    the asset contract's protocol-23 events for them carry (so each is stored once either way)."""
    if not row["successful"]:
        return []
    movements = []
    for index, op in enumerate(operations):
        if op["type"] != "payment" or op["asset"] != network.kale_asset:
            continue
        sender, receiver = op.get("source", row["source"]), op["destination"]
        kind = ("mint" if sender == network.kale_asset_issuer
                else "burn" if receiver == network.kale_asset_issuer else "transfer")
        movements.append({"id": event_id(row["ledger"], row["application_order"], index, 0),
                          "ledger": row["ledger"], "tx_hash": row["hash"], "kind": kind,
                          "from_address": None if kind == "mint" else sender,
                          "to_address": None if kind == "burn" else receiver, "amount": op["amount"]})
    return movements


def _pail_changes(outline: meta.MetaOutline, farm: bytes) -> list[tuple[int, tuple, tuple[int, int] | None]]:
    """(change type, ("Pail", farmer, index), span of the Pail value or None) of the farm's pails."""
    data, found = outline.data, []
    for change in outline.changes:
        if change.entry_type != meta.ENTRY_CONTRACT_DATA:
            continue
        removed = change.change == meta.CHANGE_REMOVED
        contract = change.start + (4 if removed else 8)
        key_start = contract + len(farm)
        if data[contract:key_start] != farm or not data.startswith(_PAIL_KEY_PREFIX, key_start):
            continue
        key_end = meta.skip_scval(data, key_start)
        key = storage.decode_storage_key(xdr.SCVal.from_xdr_bytes(data[key_start:key_end]))
        value = None if removed else (key_end + 4, meta.skip_scval(data, key_end + 4))
        found.append((change.change, key, value))
    return found


def _farm_fields(function: str, args: list[xdr.SCVal], outline: meta.MetaOutline | None,
                 scope: Scope) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if args and args[0].type == xdr.SCValType.SCV_ADDRESS:
        fields["farmer"] = Address.from_xdr_sc_address(args[0].address).address
    try:
        if function == "plant" and len(args) == 2 and outline is not None:
            fields["stake"] = scval.from_int128(args[1])
        elif function == "work" and len(args) == 3:
            fields["work_hash"] = scval.from_bytes(args[1]).hex()
            fields["nonce"] = scval.from_uint64(args[2])
        elif function == "harvest" and len(args) == 2:
            fields["block_index"] = scval.from_uint32(args[1])
    except (TypeError, ValueError):
        pass  # malformed arguments: the call failed on chain and the row says so
    if outline is None:
        return fields
    for change, key, value in _pail_changes(outline, scope.farm_address):
        if key[1] != fields.get("farmer"):
            continue
        fields["block_index"] = key[2]
        if value is None:
            continue
        pail = storage.pail_from_scval(outline.decode(value, xdr.SCVal))
        if function == "work" and change == 1:  # the updated pail
            fields["zeros"] = pail.zeros
        if function == "harvest" and change == 3:  # the pail as it was before removal
            fields["stake"] = pail.stake
    if outline.return_value is not None:
        returned = outline.decode(outline.return_value, xdr.SCVal)
        if function == "work" and returned.type == xdr.SCValType.SCV_U32:
            fields["gap"] = returned.u32.uint32
        elif function == "harvest" and returned.type == xdr.SCValType.SCV_I128:
            fields["reward"] = scval.from_int128(returned)
    return fields


def decode_transaction(raw: RawTransaction, scope: Scope) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The chain_transactions row of a transaction and the KALE movements its classic payments
    make, or None when the scope does not keep it."""
    envelope = _envelope(raw.envelope)
    call = _invocation(envelope.operations[0]) if len(envelope.operations) == 1 else None
    contract = Address.from_xdr_sc_address(call.contract_address).address if call is not None else None
    function = call.function_name.sc_symbol.decode() if call is not None else None
    farm_call = contract == scope.network.farm_contract
    if not (farm_call and scope.everything) and not (_parties(envelope) & scope.known_keys):
        return None
    result = _result(raw.result)
    successful = raw.status == "SUCCESS"
    row: dict[str, Any] = {
        "hash": raw.hash, "ledger": raw.ledger, "application_order": raw.order,
        "close_time": raw.created_at, "source": account(envelope.source),
        "fee_source": account(envelope.fee_source) if envelope.fee_source else None,
        "fee_charged": result.fee_charged, "successful": successful, "result_code": result.code,
        "kind": "classic", "contract": contract, "function": function, "args": None,
        "return_value": None, "contract_error": None, "farmer": None, "block_index": None,
        "stake": None, "stake_burned": None, "nonce": None, "work_hash": None, "zeros": None,
        "gap": None, "reward": None, "amount_minted": None, "operations": [],
    }
    if call is None:
        row["operations"] = _classic_operations(envelope, result)
        return row, classic_kale_movements(row, row["operations"], scope.network)
    args = list(call.args)
    row["args"] = [to_json(a) for a in args]
    row["kind"] = function if farm_call and function in FARM_FUNCTIONS else "invoke"
    outline = meta.outline(base64.b64decode(raw.meta)) if raw.meta else None
    if successful and outline is not None and outline.return_value is not None:
        row["return_value"] = to_json(outline.decode(outline.return_value, xdr.SCVal))
    if not successful:
        events = [outline.decode(span, xdr.ContractEvent) for span in outline.diagnostic_events] \
            if outline is not None else []
        events += [xdr.DiagnosticEvent.from_xdr(e).event for e in raw.diagnostic]
        row["contract_error"] = _contract_error(events)
    if row["kind"] != "invoke":
        row.update(_farm_fields(function, args, outline if successful else None, scope))
        if row["kind"] == "plant":
            row["stake_burned"] = 0
        elif row["kind"] == "harvest":
            row["amount_minted"] = 0
    return row, []


def decode_event(raw: RawEvent) -> dict[str, Any] | None:
    """The chain_kale_movements row of an asset-contract event, None for non-movements
    (approve, set_authorized, ...). Handles protocol 23 and older topic shapes."""
    topics = [xdr.SCVal.from_xdr(t) for t in raw.topic]
    if not topics or topics[0].type != xdr.SCValType.SCV_SYMBOL:
        return None
    kind = topics[0].sym.sc_symbol.decode()
    if kind not in MOVEMENT_KINDS:
        return None
    parties = [Address.from_xdr_sc_address(t.address).address
               for t in topics[1:] if t.type == xdr.SCValType.SCV_ADDRESS]
    value = xdr.SCVal.from_xdr(raw.value)
    if value.type == xdr.SCValType.SCV_MAP:
        value = next(e.val for e in value.map.sc_map if e.key.type == xdr.SCValType.SCV_SYMBOL
                     and e.key.sym.sc_symbol == b"amount")
    sender = parties[0] if kind == "transfer" else parties[-1] if kind in ("burn", "clawback") else None
    receiver = parties[1] if kind == "transfer" else parties[-1] if kind == "mint" else None
    return {"id": raw.id, "ledger": raw.ledger, "tx_hash": raw.tx_hash, "kind": kind,
            "from_address": sender, "to_address": receiver, "amount": scval.from_int128(value)}


def apply_movements(rows: list[dict[str, Any]], movements: list[dict[str, Any]]) -> None:
    """Set each plant's stake burned and each harvest's amount minted from its KALE movements."""
    by_tx: dict[str, list[dict[str, Any]]] = {}
    for movement in movements:
        by_tx.setdefault(movement["tx_hash"], []).append(movement)
    for row in rows:
        if row["kind"] == "plant":
            row["stake_burned"] = sum(m["amount"] for m in by_tx.get(row["hash"], ())
                                      if m["kind"] == "burn" and m["from_address"] == row["farmer"])
        elif row["kind"] == "harvest":
            row["amount_minted"] = sum(m["amount"] for m in by_tx.get(row["hash"], ())
                                       if m["kind"] == "mint" and m["to_address"] == row["farmer"])
