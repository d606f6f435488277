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

from chain import meta
from chain.tolerance import note_skipped
from config import Network
from indexer.envelope import Envelope, classic_operations, read_envelope
from indexer.source import RawEvent, RawTransaction
from indexer.values import account, read_scval, sc_address, struct_fields

FARM_FUNCTIONS = ("plant", "work", "harvest")
MOVEMENT_KINDS = ("mint", "burn", "transfer", "clawback")
# Vec (present, 3 items) [Symbol("Pail"), ...]: how every Pail(farmer, index) key starts
_PAIL_KEY_PREFIX = (b"\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00\x03"
                    + scval.to_symbol("Pail").to_xdr_bytes())
_FEE_BUMP = (xdr.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS,
             xdr.TransactionResultCode.txFEE_BUMP_INNER_FAILED)
_UPDATED, _STATE = 1, 3


def toid(ledger: int, order: int, operation: int = 0) -> int:
    """The TOID of an operation: ledger, 1-based transaction order, 0-based operation index."""
    return ledger << 32 | order << 12 | operation


def event_id(ledger: int, order: int, operation: int, index: int) -> str:
    """The getEvents id of an operation's `index`-th event."""
    return f"{toid(ledger, order, operation):019d}-{index:010d}"


@lru_cache(maxsize=8)
def _sc_address_bytes(contract: str) -> bytes:
    return Address(contract).to_xdr_sc_address().to_xdr_bytes()


@lru_cache(maxsize=8)
def _raw_keys(addresses: frozenset[str]) -> frozenset[bytes]:
    return frozenset(StrKey.decode_ed25519_public_key(a) for a in addresses if a.startswith("G"))


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


@dataclass(frozen=True)
class _Result:
    fee_charged: int
    code: str
    operations: list[xdr.OperationResult]


def _result(data: bytes, with_operations: bool) -> _Result:
    fee = int.from_bytes(data[:8], "big", signed=True)
    if not with_operations and data[8:12] == bytes(4):  # txSUCCESS: the fee is all a call needs
        return _Result(fee, "txSUCCESS", [])
    try:
        result = xdr.TransactionResult.from_xdr_bytes(data)
    except Exception as exc:  # a result code or arm newer than the SDK: keep the fee and the code
        note_skipped("indexer result", exc)
        code = int.from_bytes(data[8:12], "big", signed=True)
        return _Result(fee, "txSUCCESS" if code == 0 else f"code{code}", [])
    body = result.result
    if body.code in _FEE_BUMP:
        body = body.inner_result_pair.result.result
    code, operations = body.code.name, list(body.results or [])
    failed = next((_inner_code(op) for op in operations if not _inner_code(op).endswith("SUCCESS")), None)
    if failed is not None and code != "txSUCCESS":
        code = f"{code}:{failed}"
    return _Result(result.fee_charged.int64, code, operations)


def _inner_code(result: xdr.OperationResult) -> str:
    if result.code != xdr.OperationResultCode.opINNER:
        return result.code.name
    inner = getattr(result.tr, f"{result.tr.type.name.lower()}_result", None)
    return "SUCCESS" if inner is None else inner.code.name


def _contract_error(events: list[xdr.ContractEvent]) -> int | None:
    for event in events:
        body = event.body.v0
        for value in [*body.topics, body.data]:
            if value.type == xdr.SCValType.SCV_ERROR and value.error.type == xdr.SCErrorType.SCE_CONTRACT:
                return value.error.contract_code.uint32
    return None


def _pail_changes(outline: meta.MetaOutline, farm: bytes) -> list[tuple[int, str, int, int | None]]:
    """(change type, farmer, index, where the Pail value starts or None) of the farm's pails."""
    data, found = outline.data, []
    for change in outline.changes:
        if change.entry_type != meta.ENTRY_CONTRACT_DATA:
            continue
        removed = change.change == meta.CHANGE_REMOVED
        contract = change.start + (4 if removed else 8)
        key = contract + len(farm)
        if data[contract:key] != farm or not data.startswith(_PAIL_KEY_PREFIX, key):
            continue
        farmer_at = key + len(_PAIL_KEY_PREFIX) + 4  # past the Address tag
        index_at = meta.skip_sc_address(data, farmer_at)  # the u32 ScVal
        value = None if removed else index_at + 12  # past the index and the durability
        found.append((change.change, sc_address(data, farmer_at), meta.u32(data, index_at + 4), value))
    return found


def _farm_fields(function: str, args: list[Any], outline: meta.MetaOutline | None, scope: Scope) -> dict[str, Any]:
    """farmer, block index, stake, work, gap, reward: from the arguments and the meta."""
    fields: dict[str, Any] = {}
    if args and isinstance(args[0], str):
        fields["farmer"] = args[0]
    if function == "work" and len(args) == 3 and isinstance(args[1], str) and isinstance(args[2], int):
        fields["work_hash"], fields["nonce"] = args[1], args[2]
    elif function == "harvest" and len(args) == 2 and isinstance(args[1], int):
        fields["block_index"] = args[1]
    if outline is None:  # a failed call changed nothing
        return fields
    if function == "plant" and len(args) == 2 and isinstance(args[1], int):
        fields["stake"] = args[1]
    data = outline.data
    for change, farmer, index, value in _pail_changes(outline, scope.farm_address):
        if farmer != fields.get("farmer"):
            continue
        fields["block_index"] = index
        if value is None:
            continue
        pail = struct_fields(data, value)
        if function == "work" and change == _UPDATED:
            fields["zeros"] = read_scval(data, pail["zeros"])
        if function == "harvest" and change == _STATE:  # the pail as it was before removal
            fields["stake"] = read_scval(data, pail["stake"])
    if outline.return_value is not None:
        returned = read_scval(data, outline.return_value[0])
        if function == "work":
            fields["gap"] = returned
        elif function == "harvest":
            fields["reward"] = returned
    return fields


def _row(raw: RawTransaction, envelope: Envelope, result: _Result) -> dict[str, Any]:
    call = envelope.call
    return {
        "hash": raw.hash, "ledger": raw.ledger, "application_order": raw.order, "close_time": raw.created_at,
        "source": account(envelope.source),
        "fee_source": account(envelope.fee_source) if envelope.fee_source else None,
        "fee_charged": result.fee_charged, "successful": raw.status == "SUCCESS", "result_code": result.code,
        "kind": "classic" if call is None else "invoke", "contract": None if call is None else call.contract,
        "function": None if call is None else call.function, "args": None if call is None else call.args,
        "return_value": None,
        "contract_error": None, "farmer": None, "block_index": None, "stake": None, "stake_burned": None,
        "nonce": None, "work_hash": None, "zeros": None, "gap": None, "reward": None, "amount_minted": None,
        "operations": [],
    }


def _tolerant(read: Any) -> Any:
    """`read()`, or None (counted) when what it reads holds an arm newer than this code."""
    try:
        return read()
    except Exception as exc:  # UnknownArm from the walkers, anything from the SDK's decoder
        note_skipped("indexer value", exc)
        return None


def decode_transaction(raw: RawTransaction, scope: Scope) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The chain_transactions row of a transaction and the KALE movements its classic payments
    make, or None when the scope does not keep it."""
    try:
        envelope = read_envelope(base64.b64decode(raw.envelope))
    except Exception as exc:  # an envelope holding an arm newer than the SDK: not readable at all
        note_skipped("indexer envelope", exc)
        return None
    call = envelope.call
    farm_call = call is not None and call.contract == scope.network.farm_contract
    if not (farm_call and scope.everything) and not (envelope.parties & scope.known_keys):
        return None
    result = _result(base64.b64decode(raw.result), with_operations=call is None)
    row = _row(raw, envelope, result)
    if call is None:
        row["operations"] = classic_operations(envelope.operations, result.operations)
        return row, classic_kale_movements(row, scope.network)
    outline = meta.outline_or_none(raw.meta, "indexer meta")
    if row["successful"] and outline is not None and outline.return_value is not None:
        row["return_value"] = _tolerant(lambda: read_scval(outline.data, outline.return_value[0]))
    if not row["successful"]:
        events = [_tolerant(lambda: outline.decode(span, xdr.ContractEvent))
                  for span in (outline.diagnostic_events if outline is not None else [])]
        events += [_tolerant(lambda: xdr.DiagnosticEvent.from_xdr(e).event) for e in raw.diagnostic]
        row["contract_error"] = _contract_error([e for e in events if e is not None])
    if farm_call and call.function in FARM_FUNCTIONS:
        row["kind"] = call.function
        row.update(_tolerant(lambda: _farm_fields(call.function, call.args,
                                                  outline if row["successful"] else None, scope)) or {})
        if row["kind"] == "plant":
            row["stake_burned"] = 0
        elif row["kind"] == "harvest":
            row["amount_minted"] = 0
    return row, []


def classic_kale_movements(row: dict[str, Any], network: Network) -> list[dict[str, Any]]:
    """The KALE movements of a successful classic transaction's payments, under the event ids
    the asset contract's protocol-23 events for them carry (so each is stored once either way)."""
    if not row["successful"]:
        return []
    movements = []
    for index, op in enumerate(row["operations"]):
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


def decode_event(raw: RawEvent) -> dict[str, Any] | None:
    """The chain_kale_movements row of an asset-contract event, None for non-movements
    (approve, set_authorized, ...) and for events holding an arm newer than this code (counted).
    Handles protocol 23 and older topic shapes."""
    return _tolerant(lambda: _movement(raw))


def _movement(raw: RawEvent) -> dict[str, Any] | None:
    topics = [base64.b64decode(t) for t in raw.topic]
    if not topics or meta.u32(topics[0], 0) != 15:
        return None
    kind = read_scval(topics[0], 0)
    if kind not in MOVEMENT_KINDS:
        return None
    parties = [read_scval(t, 0) for t in topics[1:] if meta.u32(t, 0) == 18]
    value = base64.b64decode(raw.value)
    amount = read_scval(value, struct_fields(value, 0)["amount"] if meta.u32(value, 0) == 17 else 0)
    sender = parties[0] if kind == "transfer" else parties[-1] if kind in ("burn", "clawback") else None
    receiver = parties[1] if kind == "transfer" else parties[-1] if kind == "mint" else None
    return {"id": raw.id, "ledger": raw.ledger, "tx_hash": raw.tx_hash, "kind": kind,
            "from_address": sender, "to_address": receiver, "amount": amount}


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
