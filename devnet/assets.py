"""Balances of a credit asset held by G... accounts (trustlines), shared by classic payments and the SAC.

The issuer holds no trustline: paying out of it mints, paying into it burns.
`store` is anything with the Host's `read(key, key_obj, write_intent)` and
`write(key, key_obj, data)`: the Host itself (footprint-checked) or `Ledgered`.
"""
from __future__ import annotations

from stellar_sdk import Asset, xdr

from devnet import entries as E


class AssetError(Exception):
    """Why a balance change is impossible: "no_trust", "underfunded" or "line_full"."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Ledgered:
    """Direct, unchecked access to a View for classic operations (same API as the Host)."""

    def __init__(self, view, seq: int):
        self.view = view
        self.seq = seq

    def read(self, key: bytes, key_obj=None, write_intent: bool = False) -> E.Entry | None:
        return self.view.get(key)

    def write(self, key: bytes, key_obj, data: xdr.LedgerEntryData, ttl: int | None = None) -> None:
        old = self.view.get(key)
        self.view.put(key, E.Entry(data, self.seq, old.live_until if old else None))

    def remove(self, key: bytes, key_obj=None) -> None:
        self.view.delete(key)


def trustline_balance(store, holder: str, asset: Asset) -> int | None:
    """The holder's balance of `asset`, or None without a trustline."""
    if holder == asset.issuer:
        return 0
    entry = store.read(E.trustline_key_bytes(holder, asset), E.trustline_key(holder, asset))
    return None if entry is None else entry.data.trust_line.balance.int64


def authorized(line: xdr.LedgerEntryData) -> bool:
    """Whether a trustline may send and receive (its AUTHORIZED flag)."""
    return bool(line.trust_line.flags.uint32 & E.AUTHORIZED_FLAG)


def adjust(store, holder: str, asset: Asset, delta: int) -> None:
    """Add `delta` (may be negative) to the holder's trustline; the issuer's side is a no-op."""
    if holder == asset.issuer:
        return
    lk = E.trustline_key(holder, asset)
    kb = E.trustline_key_bytes(holder, asset)
    entry = store.read(kb, lk, True)
    if entry is None:
        raise AssetError("no_trust")
    line = entry.data.trust_line
    balance = line.balance.int64 + delta
    if balance < 0:
        raise AssetError("underfunded")
    if balance > line.limit.int64:
        raise AssetError("line_full")
    store.write(kb, lk, E.with_trustline(entry.data, balance=balance))


def asset_string(asset: Asset) -> str:
    """The SEP-11 name the SAC reports and puts last in its event topics."""
    return "native" if asset.is_native() else f"{asset.code}:{asset.issuer}"
