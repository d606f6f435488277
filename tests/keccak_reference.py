"""A slow Keccak-256 written from the Keccak reference, independent of any library.

Used only to check chain.kale (and the miners) against a second implementation.
"""
from __future__ import annotations

_ROUND_CONSTANTS = []
_R = 1
for _ in range(24):
    constant = 0
    for bit in range(7):
        _R = ((_R << 1) ^ ((_R >> 7) * 0x71)) % 256
        if _R & 2:
            constant ^= 1 << ((1 << bit) - 1)
    _ROUND_CONSTANTS.append(constant)

_ROTATIONS = [[0] * 5 for _ in range(5)]
_x, _y = 1, 0
for _t in range(24):
    _ROTATIONS[_x][_y] = ((_t + 1) * (_t + 2) // 2) % 64
    _x, _y = _y, (2 * _x + 3 * _y) % 5

_MASK = (1 << 64) - 1


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value


def keccak_f1600(lanes: list[list[int]]) -> list[list[int]]:
    """The permutation on a 5x5 lane array indexed [x][y]."""
    for constant in _ROUND_CONSTANTS:
        c = [lanes[x][0] ^ lanes[x][1] ^ lanes[x][2] ^ lanes[x][3] ^ lanes[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        lanes = [[lanes[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rotl(lanes[x][y], _ROTATIONS[x][y])
        lanes = [[b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y]) for y in range(5)]
                 for x in range(5)]
        lanes[0][0] ^= constant
    return lanes


def keccak256(message: bytes) -> bytes:
    """Keccak-256: rate 136 bytes, original padding 0x01 ... 0x80."""
    rate = 136
    padded = bytearray(message) + b"\x01" + bytes((-len(message) - 1) % rate)
    padded[-1] |= 0x80
    lanes = [[0] * 5 for _ in range(5)]
    for offset in range(0, len(padded), rate):
        block = padded[offset:offset + rate]
        for i in range(rate // 8):
            lanes[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        lanes = keccak_f1600(lanes)
    return b"".join(lanes[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
