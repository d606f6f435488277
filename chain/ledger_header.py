"""Reading a LedgerHeader from its XDR bytes, whatever protocol wrote it.

stellar-sdk 16.1.1 cannot decode a protocol-30 header (CAP-88 adds the `StellarValue`
arms SIGNED_MS and EMPTY_TX_SET_MS, with millisecond close times), so the pool reads the
few fields it needs by hand: the protocol version, the previous ledger's hash and the close
time come before the `StellarValue` union and are always readable; the sequence number
after it is read when the arm is one this code knows, else the header counts as skipped.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from chain.meta import skip_opaque, u32
from chain.tolerance import UnknownArm, note_skipped

_SIGNATURE = "LedgerCloseValueSignature"
# StellarValue.ext arms: 0 BASIC, 1 SIGNED, 2 EMPTY_TX_SET (CAP-83), 3 SIGNED_MS, 4 EMPTY_TX_SET_MS (CAP-88):
# (bytes of fixed fields before the signature, whether a closeTimeMs leads them, whether a signature follows)
_ARMS = {0: (0, False, False), 1: (0, False, True), 2: (68, False, True), 3: (8, True, True),
         4: (76, True, True)}
STELLAR_VALUE_SIGNED_MS = 3


@dataclass(frozen=True)
class HeaderInfo:
    """What the pool reads of a ledger header; `sequence` is None when an unknown arm hid it."""

    protocol_version: int
    previous_hash: bytes
    close_time: int
    close_time_ms: int
    value_arm: int
    sequence: int | None


def _skip_signature(data: bytes, pos: int) -> int:
    if u32(data, pos) != 0:  # NodeID is a PublicKey: only ed25519 exists
        raise UnknownArm("PublicKey", u32(data, pos), pos)
    return skip_opaque(data, pos + 36)


def _after_value(data: bytes, pos: int) -> tuple[int, int | None]:
    """(offset past StellarValue.ext at `pos`, its closeTimeMs if the arm carries one)."""
    arm = u32(data, pos)
    if arm not in _ARMS:
        raise UnknownArm("StellarValueType", arm, pos)
    fixed, has_ms, signed = _ARMS[arm]
    close_time_ms = int.from_bytes(data[pos + 4:pos + 12], "big") if has_ms else None
    pos += 4 + fixed
    return (_skip_signature(data, pos) if signed else pos), close_time_ms


def read_header(data: bytes) -> HeaderInfo:
    """The header's fields (XDR bytes of a LedgerHeader); an unknown StellarValue arm leaves
    `sequence` None and is counted as skipped."""
    version, previous, close_time = u32(data, 0), data[4:36], int.from_bytes(data[68:76], "big")
    pos = 80
    for _ in range(u32(data, 76)):  # upgrades
        pos = skip_opaque(data, pos)
    arm = u32(data, pos)
    try:
        pos, close_time_ms = _after_value(data, pos)
    except UnknownArm as exc:
        note_skipped("ledger header", exc)
        return HeaderInfo(version, previous, close_time, close_time * 1000, arm, None)
    sequence = u32(data, pos + 64)  # past txSetResultHash and bucketListHash
    return HeaderInfo(version, previous, close_time,
                      close_time * 1000 if close_time_ms is None else close_time_ms, arm, sequence)


def read_history_entry(data: bytes) -> tuple[bytes, HeaderInfo]:
    """(hash, header) of a LedgerHeaderHistoryEntry's XDR bytes (getLedgers' headerXdr)."""
    return data[:32], read_header(data[32:])


def header_from_base64(header_xdr: str | None, history_entry: bool = True) -> HeaderInfo | None:
    """The header of a base64 LedgerHeaderHistoryEntry (or bare LedgerHeader); None if absent or short."""
    raw = base64.b64decode(header_xdr or "")
    if history_entry:
        raw = raw[32:]
    if len(raw) < 80:
        return None
    return read_header(raw)
