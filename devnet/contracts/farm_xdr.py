"""ScVal XDR of the farm's `Block` and `Pail` structs, packed straight to bytes (the hot path).

Byte-for-byte what `chain.storage.block_to_scval(...).to_xdr_bytes()` and
`pail_to_scval` give (tests/test_devnet_farm_xdr.py checks it), without building
and packing a tree of ScVal objects on every plant and work.
"""
from __future__ import annotations

import struct

from chain.kale import Block, Pail

_I32 = struct.Struct(">i").pack
_U32 = struct.Struct(">I").pack
_U64 = struct.Struct(">Q").pack
_I64 = struct.Struct(">q").pack
_MAP, _SYMBOL, _U32_TYPE, _U64_TYPE, _I128, _BYTES, _VOID = 17, 15, 3, 5, 10, 13, 1


def _symbol(name: str) -> bytes:
    raw = name.encode()
    return _I32(_SYMBOL) + _U32(len(raw)) + raw + b"\0" * (-len(raw) % 4)


_KEYS = {name: _symbol(name) for name in (
    "entropy", "max_gap", "max_stake", "max_zeros", "min_gap", "min_stake", "min_zeros", "normalized_total",
    "staked_total", "timestamp", "gap", "sequence", "stake", "zeros")}


def _u32(value: int) -> bytes:
    return _I32(_U32_TYPE) + _U32(value)


def _i128(value: int) -> bytes:
    return _I32(_I128) + _I64(value >> 64) + _U64(value & 0xFFFFFFFFFFFFFFFF)


def _map(fields: list[tuple[str, bytes]]) -> bytes:
    """An ScMap of symbol keys, given in sorted key order."""
    return _I32(_MAP) + _U32(1) + _U32(len(fields)) + b"".join(_KEYS[k] + v for k, v in fields)


def block_xdr(block: Block) -> bytes:
    """The `Block` struct's ScVal XDR."""
    return _map([
        ("entropy", _I32(_BYTES) + _U32(32) + block.entropy),
        ("max_gap", _u32(block.max_gap)), ("max_stake", _i128(block.max_stake)),
        ("max_zeros", _u32(block.max_zeros)), ("min_gap", _u32(block.min_gap)),
        ("min_stake", _i128(block.min_stake)), ("min_zeros", _u32(block.min_zeros)),
        ("normalized_total", _i128(block.normalized_total)), ("staked_total", _i128(block.staked_total)),
        ("timestamp", _I32(_U64_TYPE) + _U64(block.timestamp)),
    ])


def pail_xdr(pail: Pail) -> bytes:
    """The `Pail` struct's ScVal XDR (`None` options are Void)."""
    def optional(value: int | None) -> bytes:
        return _I32(_VOID) if value is None else _u32(value)

    return _map([("gap", optional(pail.gap)), ("sequence", _u32(pail.sequence)),
                 ("stake", _i128(pail.stake)), ("zeros", optional(pail.zeros))])
