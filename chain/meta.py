"""Reading a transaction's meta: which farm storage entries it created, changed or removed.

The farm contract emits no events, so the `Pail(farmer, index)` key in the ledger-entry
changes is how a plant or work is tied to its block.
"""
from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from stellar_sdk import Address, xdr
from xdrlib3 import Unpacker

from chain import storage
from chain.tolerance import UnknownArm, note_skipped

_KIND_NAMES = {0: "created", 1: "updated", 3: "state", 4: "restored"}


@dataclass(frozen=True)
class StorageChange:
    """One change to a contract-data entry: kind (created/updated/removed/state/restored),
    contract, decoded storage key, and the new value (None when removed)."""

    kind: str
    contract: str
    key: storage.StorageKey
    value: xdr.SCVal | None


def _decoded(contract_address: xdr.SCAddress, key: xdr.SCVal) -> tuple[str, storage.StorageKey] | None:
    try:
        return Address.from_xdr_sc_address(contract_address).address, storage.decode_storage_key(key)
    except ValueError:
        return None


def _unpack(kind: type, data: bytes, pos: int):
    unpacker = Unpacker(data)
    unpacker.set_position(pos)
    return kind.unpack(unpacker)


def _storage_change(outlined: "MetaOutline", span: "ChangeSpan") -> StorageChange | None:
    if span.change == CHANGE_REMOVED:
        data = _unpack(xdr.LedgerKey, outlined.data, span.start).contract_data
        decoded = _decoded(data.contract, data.key)
        return StorageChange("removed", *decoded, None) if decoded else None
    data = _unpack(xdr.LedgerEntryData, outlined.data, span.start).contract_data
    decoded = _decoded(data.contract, data.key)
    return StorageChange(_KIND_NAMES[span.change], *decoded, data.val) if decoded else None


def storage_changes(meta_xdr: str) -> list[StorageChange]:
    """Every change to a farm-style storage entry (Pail, Block, ...) made by the operations.

    Only contract-data entries are decoded; one the SDK cannot decode is skipped and counted."""
    outlined = outline(base64.b64decode(meta_xdr))
    found = []
    for span in outlined.changes:
        if span.entry_type != ENTRY_CONTRACT_DATA:
            continue
        try:
            change = _storage_change(outlined, span)
        except Exception as exc:  # an arm newer than the SDK: skip this entry, keep the rest
            note_skipped("meta storage change", exc)
            continue
        if change is not None:
            found.append(change)
    return found


def pail_index(meta_xdr: str, contract: str, farmer: str) -> int | None:
    """The block index of the `Pail(farmer, index)` the transaction created or updated
    (None when there is none, or the meta holds an arm this code cannot read past)."""
    try:
        changes = storage_changes(meta_xdr)
    except UnknownArm as exc:
        note_skipped("meta", exc)
        return None
    for change in changes:
        if (change.contract == contract and change.kind in ("created", "updated")
                and change.key[0] == "Pail" and change.key[1] == farmer):
            return change.key[2]
    return None



# -- Outlining a meta's XDR bytes without decoding them ----------------------------------------
# Decoding a whole TransactionMeta with stellar_sdk costs about a millisecond; an indexer needs
# a few small parts of it (the farm's storage changes, the return value, the events). The
# outline walks the bytes once, skipping what it does not need, and the caller decodes only
# the spans it wants. Rare union arms fall back to stellar_sdk's own unpacker; an arm neither
# knows (newer than the SDK) raises UnknownArm (chain.tolerance), since XDR cannot be skipped
# without knowing its size.

_U32 = struct.Struct(">I")
# SCVal types of fixed size (bytes after the type tag)
_FIXED_SCVAL = {0: 4, 1: 0, 2: 8, 3: 4, 4: 4, 5: 8, 6: 8, 7: 8, 8: 8, 9: 16, 10: 16, 11: 32, 12: 32,
                20: 0, 21: 8}
# account, contract, muxed account, claimable balance, liquidity pool, and (protocol 30,
# CAP-84) muxed contract: uint64 id then the contract hash
_SC_ADDRESS_SIZE = {0: 36, 1: 32, 2: 40, 3: 36, 4: 32, 5: 40}
_TRUSTLINE_ASSET_SIZE = {0: 0, 1: 40, 2: 48, 3: 32}
_LEDGER_KEY_SIZE = {0: 36, 7: 32, 9: 32}
ENTRY_CONTRACT_DATA = 6
CHANGE_REMOVED = 2


def u32(data: bytes, pos: int) -> int:
    """The XDR unsigned int at `pos`."""
    return _U32.unpack_from(data, pos)[0]


def _with_sdk(kind: type, data: bytes, pos: int) -> int:
    unpacker = Unpacker(data)
    unpacker.set_position(pos)
    try:
        kind.unpack(unpacker)
    except Exception:  # enum ValueError, short buffer, ...: an arm newer than the SDK
        raise UnknownArm(kind.__name__, u32(data, pos) if pos + 4 <= len(data) else "?", pos) from None
    return unpacker.get_position()


def _known(kind: str, data: bytes, pos: int, arms: tuple[int, ...]) -> int:
    """The union discriminant (or extension version) at `pos`; UnknownArm if not one of `arms`."""
    arm = u32(data, pos)
    if arm not in arms:
        raise UnknownArm(kind, arm, pos)
    return arm


def skip_opaque(data: bytes, pos: int) -> int:
    """The offset past the variable-length opaque (or string) at `pos`."""
    return pos + 4 + ((u32(data, pos) + 3) & ~3)


def skip_optional(data: bytes, pos: int, size: int) -> int:
    """The offset past an optional value of fixed `size` at `pos`."""
    return pos + 4 + (size if u32(data, pos) else 0)


def skip_signer_key(data: bytes, pos: int) -> int:
    """Past one SignerKey: 4-byte type and 32-byte key, plus a payload for a signed-payload signer."""
    signed_payload = u32(data, pos) == 3
    pos += 36
    return skip_opaque(data, pos) if signed_payload else pos


def skip_sc_address(data: bytes, pos: int) -> int:
    """The offset past the SCAddress at `pos`."""
    size = _SC_ADDRESS_SIZE.get(u32(data, pos))
    return pos + 4 + size if size is not None else _with_sdk(xdr.SCAddress, data, pos)


def _skip_scvals(data: bytes, pos: int, count: int) -> int:
    for _ in range(count):
        pos = skip_scval(data, pos)
    return pos


def skip_scval(data: bytes, pos: int) -> int:
    """The offset just past the SCVal at `pos`."""
    kind = u32(data, pos)
    size = _FIXED_SCVAL.get(kind)
    if size is not None:
        return pos + 4 + size
    if kind in (13, 14, 15):  # bytes, string, symbol
        return skip_opaque(data, pos + 4)
    if kind in (16, 17):  # vec, map: optional, counted
        if not u32(data, pos + 4):
            return pos + 8
        return _skip_scvals(data, pos + 12, u32(data, pos + 8) * (2 if kind == 17 else 1))
    if kind == 18:
        return skip_sc_address(data, pos + 4)
    if kind == 19 and u32(data, pos + 4) in (0, 1):  # instance: wasm hash or asset, optional map
        pos += 8 + (32 if u32(data, pos + 4) == 0 else 0)
        if not u32(data, pos):
            return pos + 4
        return _skip_scvals(data, pos + 8, u32(data, pos + 4) * 2)
    return _with_sdk(xdr.SCVal, data, pos)


def _skip_account_entry(data: bytes, pos: int) -> int:
    pos = skip_optional(data, pos + 56, 36)  # id, balance, seq, subentries; inflation dest
    pos = skip_opaque(data, pos + 4) + 4  # flags, home domain, thresholds
    signers, pos = u32(data, pos), pos + 4
    for _ in range(signers):
        pos = skip_signer_key(data, pos) + 4  # and its weight
    if u32(data, pos) != 1:
        return pos + 4
    pos += 20  # v1: liabilities
    if u32(data, pos) != 2:
        return pos + 4
    sponsoring, pos = u32(data, pos + 12), pos + 16
    for _ in range(sponsoring):
        pos = skip_optional(data, pos, 36)
    return pos + (20 if u32(data, pos) == 3 else 4)


def _skip_trustline_entry(data: bytes, pos: int) -> int:
    pos += 36
    pos += 4 + _TRUSTLINE_ASSET_SIZE[u32(data, pos)] + 20  # asset, balance, limit, flags
    if u32(data, pos) != 1:
        return pos + 4
    pos += 20
    return pos + (12 if u32(data, pos) == 2 else 4)


def _skip_ledger_entry_data(data: bytes, pos: int) -> int:
    kind = u32(data, pos)
    if kind == ENTRY_CONTRACT_DATA:
        pos = skip_scval(data, skip_sc_address(data, pos + 8))
        return skip_scval(data, pos + 4)
    if kind == 0:
        return _skip_account_entry(data, pos + 4)
    if kind == 1 and u32(data, pos + 40) in _TRUSTLINE_ASSET_SIZE:
        return _skip_trustline_entry(data, pos + 4)
    if kind == 9:
        return pos + 40
    if kind == 7 and u32(data, pos + 4) == 0:
        return skip_opaque(data, pos + 40)
    return _with_sdk(xdr.LedgerEntryData, data, pos)


def _skip_ledger_key(data: bytes, pos: int) -> int:
    kind = u32(data, pos)
    if kind in _LEDGER_KEY_SIZE:
        return pos + 4 + _LEDGER_KEY_SIZE[kind]
    if kind == ENTRY_CONTRACT_DATA:
        return skip_scval(data, skip_sc_address(data, pos + 4)) + 4
    if kind == 1 and u32(data, pos + 40) in _TRUSTLINE_ASSET_SIZE:
        return pos + 44 + _TRUSTLINE_ASSET_SIZE[u32(data, pos + 40)]
    return _with_sdk(xdr.LedgerKey, data, pos)


@dataclass(frozen=True)
class ChangeSpan:
    """One ledger-entry change: its type (LedgerEntryChangeType value), the entry type, and where
    its LedgerEntryData (or, for a removal, its LedgerKey) lies."""

    change: int
    entry_type: int
    start: int
    end: int


def _skip_changes(data: bytes, pos: int, into: list[ChangeSpan] | None) -> int:
    count, pos = u32(data, pos), pos + 4
    for _ in range(count):
        change, pos = u32(data, pos), pos + 4
        if change == CHANGE_REMOVED:
            start, pos = pos, _skip_ledger_key(data, pos)
        else:
            start = pos + 4  # past lastModifiedLedgerSeq
            pos = _skip_ledger_entry_data(data, start)
            if _known("LedgerEntryExt", data, pos, (0, 1)) == 1:  # V1: optional sponsor, ext
                pos = skip_optional(data, pos + 4, 36) + 4
            else:
                pos += 4
        if into is not None:
            into.append(ChangeSpan(change, u32(data, start), start, pos))
    return pos


def _skip_event(data: bytes, pos: int) -> int:
    pos = skip_optional(data, pos + 4, 32) + 4  # ext, contract id, type
    _known("ContractEventBody", data, pos, (0,))
    pos += 4
    pos = _skip_scvals(data, pos + 4, u32(data, pos))
    return skip_scval(data, pos)


def _event_spans(data: bytes, pos: int, prefix: int) -> tuple[list[tuple[int, int]], int]:
    """Spans of a counted array of events, each after `prefix` bytes (stage or success flag)."""
    spans = []
    count, pos = u32(data, pos), pos + 4
    for _ in range(count):
        start = pos + prefix
        pos = _skip_event(data, start)
        spans.append((start, pos))
    return spans, pos


def _skip_soroban_ext(data: bytes, pos: int) -> int:
    return pos + (32 if _known("SorobanTransactionMetaExt", data, pos, (0, 1)) == 1 else 4)  # v1: ext, fees


@dataclass(frozen=True)
class MetaOutline:
    """Where the parts of a TransactionMeta lie in its XDR bytes.

    `changes`: the operations' ledger-entry changes; `op_events`: per operation, the spans of
    its ContractEvents; `return_value`: the span of the SCVal an invocation returned;
    `diagnostic_events`: spans of the ContractEvents inside the DiagnosticEvents.
    """

    data: bytes
    changes: list[ChangeSpan]
    op_events: list[list[tuple[int, int]]]
    return_value: tuple[int, int] | None
    diagnostic_events: list[tuple[int, int]]

    def decode(self, span: tuple[int, int], kind: type):
        """The XDR object of `kind` at `span`."""
        return kind.from_xdr_bytes(self.data[span[0]:span[1]])


def outline(data: bytes) -> MetaOutline:
    """Outline a TransactionMeta (v0 to v4) given as XDR bytes; UnknownArm past what it knows."""
    version, pos = _known("TransactionMeta", data, 0, (0, 1, 2, 3, 4)), 4
    changes: list[ChangeSpan] = []
    op_events: list[list[tuple[int, int]]] = []
    return_value = None
    diagnostic: list[tuple[int, int]] = []
    if version == 0:  # a bare array of OperationMeta
        count, pos = u32(data, pos), pos + 4
        for _ in range(count):
            pos = _skip_changes(data, pos, changes)
        return MetaOutline(data, changes, [], None, [])
    pos = _skip_changes(data, pos + 4 if version >= 3 else pos, None)  # (ext,) txChangesBefore
    operations, pos = u32(data, pos), pos + 4
    for _ in range(operations):
        if version == 4:
            pos = _skip_changes(data, pos + 4, changes)
            events, pos = _event_spans(data, pos, 0)
            op_events.append(events)
        else:
            pos = _skip_changes(data, pos, changes)
    if version == 1:
        return MetaOutline(data, changes, op_events, None, [])
    pos = _skip_changes(data, pos, None)  # txChangesAfter
    if version == 2:
        return MetaOutline(data, changes, op_events, None, [])
    has_soroban_meta, pos = u32(data, pos), pos + 4
    if version == 3:
        if not has_soroban_meta:
            return MetaOutline(data, changes, op_events, None, [])
        events, start = _event_spans(data, _skip_soroban_ext(data, pos), 0)
        end = skip_scval(data, start)
        diagnostic, _ = _event_spans(data, end, 4)
        return MetaOutline(data, changes, [events], (start, end), diagnostic)
    if has_soroban_meta:
        pos = _skip_soroban_ext(data, pos)
        if u32(data, pos):
            start, pos = pos + 4, skip_scval(data, pos + 4)
            return_value = (start, pos)
        else:
            pos += 4
    _, pos = _event_spans(data, pos, 4)  # transaction-level (fee) events
    diagnostic, pos = _event_spans(data, pos, 4)
    return MetaOutline(data, changes, op_events, return_value, diagnostic)


def outline_or_none(meta_b64: str | None, what: str = "transaction meta") -> MetaOutline | None:
    """The outline of base64 meta; None when absent or holding an arm newer than this code (counted as `what`)."""
    if not meta_b64:
        return None
    try:
        return outline(base64.b64decode(meta_b64))
    except ValueError as exc:
        note_skipped(what, exc)
        return None
