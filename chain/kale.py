"""The KALE farm contract's hash and reward math, exactly as the contract computes it.

Pure functions, no I/O, integers only (amounts are i128 stroops). Names follow
the contract: see shared/reference/kale-protocol.md.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping

from Crypto.Hash import keccak
from stellar_sdk import StrKey

BLOCK_INTERVAL = 300
BLOCK_REWARD = 2505_0000000
BLOCKS_PER_MONTH = 8640
BLOCK_SCALE = 100_0000000000
DECAY_RATE = 5_0000000000
INVERSE_DECAY_RATE = 95_0000000000
V2_GENESIS_BLOCK = 30558
WEEK_OF_LEDGERS = 120960
# Median mainnet ledger close interval (stellar-docs #2805, 2026): the target is 5 s but ledgers take
# about 6, with 8-9 s gaps. A stand-in only until observed ledgers give the real figure.
MEDIAN_LEDGER_SECONDS = 6.0
STROOPS_PER_KALE = 10_000_000

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
I128_MIN = -(2**127)
I128_MAX = 2**127 - 1

PREIMAGE_LENGTH = 76


class KaleError(enum.IntEnum):
    """The farm contract's error codes (`Error(Contract, #N)`)."""

    HomesteadExists = 1
    HomesteadMissing = 2
    FarmBlockMissing = 3
    FarmPaused = 4
    FarmNotPaused = 5
    PlantAmountTooLow = 6
    ZeroCountTooLow = 7
    PailExists = 8
    PailMissing = 9
    WorkMissing = 10
    BlockMissing = 11
    BlockInvalid = 12
    HashInvalid = 13
    HarvestNotReady = 14
    GapCountTooLow = 15


class ContractError(Exception):
    """The contract would fail with `Error(Contract, #code)`."""

    def __init__(self, code: KaleError | int):
        self.code = KaleError(code)
        super().__init__(f"Error(Contract, #{int(self.code)}) {self.code.name}")


@dataclass(slots=True)
class Block:
    """The contract's `Block` struct: a block's timestamp, scoring ranges, entropy and totals."""

    timestamp: int
    min_gap: int
    min_stake: int
    min_zeros: int
    max_gap: int
    max_stake: int
    max_zeros: int
    entropy: bytes
    staked_total: int
    normalized_total: int


@dataclass(slots=True)
class Pail:
    """The contract's `Pail` struct: one farmer's plant (and work) in one block."""

    sequence: int
    gap: int | None
    stake: int
    zeros: int | None


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _check_entropy(entropy: Any) -> bytes:
    if not isinstance(entropy, (bytes, bytearray, memoryview)):
        raise ValueError(f"entropy must be 32 bytes, got {type(entropy).__name__}")
    entropy = bytes(entropy)
    if len(entropy) != 32:
        raise ValueError(f"entropy must be 32 bytes, got {len(entropy)}")
    return entropy


def farmer_bytes(farmer: str) -> bytes:
    """The last 32 bytes of the farmer's Address XDR: raw ed25519 key (G...) or contract hash (C...)."""
    if not isinstance(farmer, str):
        raise ValueError(f"farmer must be a G... or C... strkey, got {type(farmer).__name__}")
    try:
        if farmer.startswith("G"):
            return StrKey.decode_ed25519_public_key(farmer)
        if farmer.startswith("C"):
            return StrKey.decode_contract(farmer)
    except Exception:
        raise ValueError(f"farmer is not a valid strkey: {farmer!r}") from None
    raise ValueError(f"farmer must be a G... or C... strkey, got {farmer!r}")


def preimage(index: int, nonce: int, entropy: bytes, farmer: str) -> bytes:
    """The 76 bytes the contract hashes: index u32 BE, nonce u64 BE, entropy, farmer key."""
    _check_int("index", index, 0, U32_MAX)
    _check_int("nonce", nonce, 0, U64_MAX)
    return (index.to_bytes(4, "big") + nonce.to_bytes(8, "big")
            + _check_entropy(entropy) + farmer_bytes(farmer))


def keccak256(data: bytes) -> bytes:
    """Keccak-256 with the original Keccak padding (not NIST SHA3-256)."""
    return keccak.new(data=data, digest_bits=256).digest()


def kale_hash(index: int, nonce: int, entropy: bytes, farmer: str) -> bytes:
    """The proof-of-work hash the contract checks in `work`."""
    return keccak256(preimage(index, nonce, entropy, farmer))


def count_zeros(hash: bytes) -> int:
    """Leading zero hex nibbles, counted the way the contract counts them."""
    zeros = 0
    for byte in bytes(hash):
        if byte == 0:
            zeros += 2
            continue
        if byte >> 4 == 0:
            zeros += 1
        break
    return zeros


def _field(block: Block | Mapping[str, Any], name: str) -> Any:
    return block[name] if isinstance(block, Mapping) else getattr(block, name)


def normalizations(block: Block | Mapping[str, Any], gap: int, stake: int,
                   zeros: int) -> tuple[int, int, int]:
    """(n_gap, n_stake, n_zeros): each value scaled into the block's common range.

    Raises ContractError(BlockInvalid) when any of the block's ranges has max < min.
    """
    ranges = []
    for name, value in (("gap", gap), ("stake", stake), ("zeros", zeros)):
        low, high = _field(block, f"min_{name}"), _field(block, f"max_{name}")
        if high < low:
            raise ContractError(KaleError.BlockInvalid)
        ranges.append((value, low, high, max(high - low, 1)))
    scale = max(span for _, _, _, span in ranges)
    return tuple(  # type: ignore[return-value]
        max((min(max(value, low), high) - low) * scale // span, 1)
        for value, low, high, span in ranges
    )


def block_reward(index: int) -> int:
    """The base reward of block `index`, after 5 % decay every BLOCKS_PER_MONTH blocks."""
    _check_int("index", index, 0, U32_MAX)
    periods = max(index - V2_GENESIS_BLOCK, 0) // BLOCKS_PER_MONTH
    rate = BLOCK_SCALE
    for _ in range(periods):
        rate = rate * INVERSE_DECAY_RATE // BLOCK_SCALE
    return BLOCK_REWARD * rate // BLOCK_SCALE


def harvest_reward(block: Block | Mapping[str, Any], index: int, gap: int, stake: int,
                   zeros: int) -> int:
    """What `harvest` mints for a worked pail, stake not included."""
    n_gap, n_stake, n_zeros = normalizations(block, gap, stake, zeros)
    pot = block_reward(index) + _field(block, "staked_total")
    return (n_gap + n_stake + n_zeros) * pot // max(_field(block, "normalized_total"), 1)
