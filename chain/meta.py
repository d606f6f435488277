"""Reading a transaction's meta: which farm storage entries it created, changed or removed.

The farm contract emits no events, so the `Pail(farmer, index)` key in the ledger-entry
changes is how a plant or work is tied to its block.
"""
from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Address, xdr

from chain import storage

_KINDS = {
    xdr.LedgerEntryChangeType.LEDGER_ENTRY_CREATED: ("created", "created"),
    xdr.LedgerEntryChangeType.LEDGER_ENTRY_UPDATED: ("updated", "updated"),
    xdr.LedgerEntryChangeType.LEDGER_ENTRY_RESTORED: ("restored", "restored"),
    xdr.LedgerEntryChangeType.LEDGER_ENTRY_STATE: ("state", "state"),
}


@dataclass(frozen=True)
class StorageChange:
    """One change to a contract-data entry: kind (created/updated/removed/state/restored),
    contract, decoded storage key, and the new value (None when removed)."""

    kind: str
    contract: str
    key: storage.StorageKey
    value: xdr.SCVal | None


def _operation_changes(meta: xdr.TransactionMeta) -> list[xdr.LedgerEntryChange]:
    body = meta.v4 or meta.v3 or meta.v2 or meta.v1
    changes = []
    for operation in (body.operations if body is not None else []):
        changes.extend(operation.changes.ledger_entry_changes)
    return changes


def _decoded(contract_address: xdr.SCAddress, key: xdr.SCVal) -> tuple[str, storage.StorageKey] | None:
    try:
        return Address.from_xdr_sc_address(contract_address).address, storage.decode_storage_key(key)
    except ValueError:
        return None


def storage_changes(meta_xdr: str) -> list[StorageChange]:
    """Every change to a farm-style storage entry (Pail, Block, ...) made by the operations."""
    found = []
    for change in _operation_changes(xdr.TransactionMeta.from_xdr(meta_xdr)):
        if change.type == xdr.LedgerEntryChangeType.LEDGER_ENTRY_REMOVED:
            if change.removed.type != xdr.LedgerEntryType.CONTRACT_DATA:
                continue
            data = change.removed.contract_data
            decoded = _decoded(data.contract, data.key)
            if decoded:
                found.append(StorageChange("removed", decoded[0], decoded[1], None))
            continue
        kind, attribute = _KINDS[change.type]
        entry = getattr(change, attribute).data
        if entry.type != xdr.LedgerEntryType.CONTRACT_DATA:
            continue
        decoded = _decoded(entry.contract_data.contract, entry.contract_data.key)
        if decoded:
            found.append(StorageChange(kind, decoded[0], decoded[1], entry.contract_data.val))
    return found


def pail_index(meta_xdr: str, contract: str, farmer: str) -> int | None:
    """The block index of the `Pail(farmer, index)` the transaction created or updated."""
    for change in storage_changes(meta_xdr):
        if (change.contract == contract and change.kind in ("created", "updated")
                and change.key[0] == "Pail" and change.key[1] == farmer):
            return change.key[2]
    return None
