"""Nonce search without OpenCL: numba, LANES nonces side by side, one thread per core.

The Keccak state is a flat array of 25 x LANES words (lane k of nonce j at
k * LANES + j) and every round loops over the LANES nonces, so LLVM turns each
round into vector instructions (8 x u64 = one AVX-512 register). Keys and nonce
layout are kernel.cl's (see search.py).

Measured on the 2-core AVX-512 CI machine: ~30 MH/s on 2 threads, ~15.4 on one;
LANES = 4 or 16 ran at about half that.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange, uint64

from gpu_miner.search.searcher import MAX_SCAN, Searcher

LANES = 8
STEPS_PER_TASK = 1024  # LANES-nonce steps per parallel task: cheap to start, enough to balance

_RC = np.array([
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
], dtype=np.uint64)
# numba types uint64 mixed with a plain int as float64: every constant is a uint64.
_1, _2, _4, _8, _16 = uint64(1), uint64(2), uint64(4), uint64(8), uint64(16)
_32, _56, _U32 = uint64(32), uint64(56), uint64(0xFFFFFFFF)
_M55, _M33 = uint64(0x5555555555555555), uint64(0x3333333333333333)
_M0F, _M01 = uint64(0x0F0F0F0F0F0F0F0F), uint64(0x0101010101010101)
_M16, _M8 = uint64(0x0000FFFF0000FFFF), uint64(0x00FF00FF00FF00FF)


@njit(inline="always")
def _rol(x, n):
    return (x << uint64(n)) | (x >> uint64(64 - n))


@njit(inline="always")
def _bswap64(x):
    x = (x << _32) | (x >> _32)
    x = ((x & _M16) << _16) | ((x >> _16) & _M16)
    return ((x & _M8) << _8) | ((x >> _8) & _M8)


@njit(inline="always")
def _nibble_zeros(h):
    """Leading zero hex digits of the 8 hash bytes in lane h (byte 0 = low byte); 16 if h == 0."""
    s = ((h & _M0F) << _4) | ((h >> _4) & _M0F)  # digits now run from bit 0 upwards
    t = ~s & (s - _1)  # ones below the lowest set bit: count them
    t = t - ((t >> _1) & _M55)
    t = (t & _M33) + ((t >> _2) & _M33)
    return ((((t + (t >> _4)) & _M0F) * _M01) >> _56) >> _2


@njit(inline="always")
def hash_zeros(h0, h1, h2, h3):
    """Leading zero hex digits of a hash whose first 32 bytes are lanes h0..h3.

    Branch-free so the loop over nonces stays vectorised (a loop with a break cost
    a quarter of the speed); a lane only counts when the ones before it are zero.
    """
    z3 = _nibble_zeros(h3)
    z2 = _nibble_zeros(h2) + (z3 if h2 == 0 else uint64(0))
    z1 = _nibble_zeros(h1) + (z2 if h1 == 0 else uint64(0))
    return _nibble_zeros(h0) + (z1 if h0 == 0 else uint64(0))


@njit(inline="always")
def _permute(st):
    """Keccak-f[1600] on LANES states at once (layout in the module docstring).

    One plain statement per lane and rounds counted by index: with tuple assignments
    (a0, a1 = ...) it ran a quarter slower, iterating `for rc in _RC` slower still.
    """
    W = LANES
    for r in range(24):
        rc = _RC[r]
        for j in range(W):
            a0 = st[j]
            a1 = st[W + j]
            a2 = st[2 * W + j]
            a3 = st[3 * W + j]
            a4 = st[4 * W + j]
            a5 = st[5 * W + j]
            a6 = st[6 * W + j]
            a7 = st[7 * W + j]
            a8 = st[8 * W + j]
            a9 = st[9 * W + j]
            a10 = st[10 * W + j]
            a11 = st[11 * W + j]
            a12 = st[12 * W + j]
            a13 = st[13 * W + j]
            a14 = st[14 * W + j]
            a15 = st[15 * W + j]
            a16 = st[16 * W + j]
            a17 = st[17 * W + j]
            a18 = st[18 * W + j]
            a19 = st[19 * W + j]
            a20 = st[20 * W + j]
            a21 = st[21 * W + j]
            a22 = st[22 * W + j]
            a23 = st[23 * W + j]
            a24 = st[24 * W + j]
            c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
            c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
            c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
            c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
            c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
            d0 = c4 ^ _rol(c1, 1)
            d1 = c0 ^ _rol(c2, 1)
            d2 = c1 ^ _rol(c3, 1)
            d3 = c2 ^ _rol(c4, 1)
            d4 = c3 ^ _rol(c0, 1)
            b0 = a0 ^ d0
            b1 = _rol(a6 ^ d1, 44)
            b2 = _rol(a12 ^ d2, 43)
            b3 = _rol(a18 ^ d3, 21)
            b4 = _rol(a24 ^ d4, 14)
            st[j] = b0 ^ (~b1 & b2) ^ rc
            st[W + j] = b1 ^ (~b2 & b3)
            st[2 * W + j] = b2 ^ (~b3 & b4)
            st[3 * W + j] = b3 ^ (~b4 & b0)
            st[4 * W + j] = b4 ^ (~b0 & b1)
            b0 = _rol(a3 ^ d3, 28)
            b1 = _rol(a9 ^ d4, 20)
            b2 = _rol(a10 ^ d0, 3)
            b3 = _rol(a16 ^ d1, 45)
            b4 = _rol(a22 ^ d2, 61)
            st[5 * W + j] = b0 ^ (~b1 & b2)
            st[6 * W + j] = b1 ^ (~b2 & b3)
            st[7 * W + j] = b2 ^ (~b3 & b4)
            st[8 * W + j] = b3 ^ (~b4 & b0)
            st[9 * W + j] = b4 ^ (~b0 & b1)
            b0 = _rol(a1 ^ d1, 1)
            b1 = _rol(a7 ^ d2, 6)
            b2 = _rol(a13 ^ d3, 25)
            b3 = _rol(a19 ^ d4, 8)
            b4 = _rol(a20 ^ d0, 18)
            st[10 * W + j] = b0 ^ (~b1 & b2)
            st[11 * W + j] = b1 ^ (~b2 & b3)
            st[12 * W + j] = b2 ^ (~b3 & b4)
            st[13 * W + j] = b3 ^ (~b4 & b0)
            st[14 * W + j] = b4 ^ (~b0 & b1)
            b0 = _rol(a4 ^ d4, 27)
            b1 = _rol(a5 ^ d0, 36)
            b2 = _rol(a11 ^ d1, 10)
            b3 = _rol(a17 ^ d2, 15)
            b4 = _rol(a23 ^ d3, 56)
            st[15 * W + j] = b0 ^ (~b1 & b2)
            st[16 * W + j] = b1 ^ (~b2 & b3)
            st[17 * W + j] = b2 ^ (~b3 & b4)
            st[18 * W + j] = b3 ^ (~b4 & b0)
            st[19 * W + j] = b4 ^ (~b0 & b1)
            b0 = _rol(a2 ^ d2, 62)
            b1 = _rol(a8 ^ d3, 55)
            b2 = _rol(a14 ^ d4, 39)
            b3 = _rol(a15 ^ d0, 41)
            b4 = _rol(a21 ^ d1, 2)
            st[20 * W + j] = b0 ^ (~b1 & b2)
            st[21 * W + j] = b1 ^ (~b2 & b3)
            st[22 * W + j] = b2 ^ (~b3 & b4)
            st[23 * W + j] = b3 ^ (~b4 & b0)
            st[24 * W + j] = b4 ^ (~b0 & b1)


@njit(cache=True, parallel=True, nogil=True)
def best_keys(states, start, count):
    """Keys (as in search.py) over nonces start .. start + count - 1: the best per farmer row
    of `states` and per parallel task, so the caller takes each row's max."""
    farmers = states.shape[0]
    steps = (count + LANES - 1) // LANES
    tasks = (steps + STEPS_PER_TASK - 1) // STEPS_PER_TASK
    keys = np.zeros((farmers, tasks), np.uint64)
    limit = uint64(count)
    for task in prange(farmers * tasks):
        farmer, part = task // tasks, task % tasks
        st = np.empty(25 * LANES, np.uint64)
        best = uint64(0)
        for step in range(part * STEPS_PER_TASK, min((part + 1) * STEPS_PER_TASK, steps)):
            for k in range(25):
                for j in range(LANES):
                    st[k * LANES + j] = states[farmer, k]
            for j in range(LANES):
                r = _bswap64(start + uint64(step * LANES + j))
                st[j] |= r << _32
                st[LANES + j] |= r >> _32
            _permute(st)
            for j in range(LANES):
                offset = uint64(step * LANES + j)
                zeros = hash_zeros(st[j], st[LANES + j], st[2 * LANES + j], st[3 * LANES + j])
                key = (zeros << _32) | (_U32 - offset)
                best = max(best, key if offset < limit else uint64(0))
        keys[farmer, part] = best
    return keys


class CpuSearcher(Searcher):
    """Scans nonces with numba on every core; needs no OpenCL."""

    kind = "cpu"

    def __init__(self) -> None:
        """Compile (or load numba's cache) now, not in the middle of the first search."""
        super().__init__()
        self.description = f"numba on {numba.get_num_threads()} threads x {LANES} lanes"
        self._scan(np.zeros((1, 25), np.uint64), 0, 1)

    def _scan(self, states: np.ndarray, start: int, count: int) -> np.ndarray:
        assert 1 <= count <= MAX_SCAN
        return best_keys(states, np.uint64(start), np.int64(count)).max(axis=1)
