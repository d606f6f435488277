"""The nonce search's common face: jobs, host-verified results, and the choice of device.

A backend (OpenCL or the numba CPU fallback) only scans nonce ranges and reports,
per farmer, a key: (zeros << 32) | (0xFFFFFFFF - offset), offset = nonce - start,
so the largest key is the most zeros at the lowest nonce and 0 means "nothing".
Everything else (splitting ranges into launches, keeping the best across them,
verifying the winner with chain.kale) lives here, once.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from chain import kale

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
MAX_ZEROS = 64
RATE_BYTES = 136  # Keccak-256 rate: the 76-byte preimage plus padding fills one block
MAX_SCAN = 2**32 - 2  # nonces per farmer per scan: offsets must fit the key with room for 0
SCAN_SECONDS = 0.1  # one scan: long enough to hide launch overhead, short enough to share time
FIRST_SCAN = 2**16  # nonces per farmer before the device's rate is known
DEVICES = ("auto", "opencl", "cpu")


@dataclass(frozen=True)
class Job:
    """One farmer's search problem: the block index and entropy the hash commits to."""

    index: int
    entropy: bytes
    farmer: str

    def __post_init__(self) -> None:
        _check_int("index", self.index, 0, U32_MAX)
        if not isinstance(self.entropy, bytes):
            raise ValueError(f"entropy must be 32 bytes, got {type(self.entropy).__name__}")
        if len(self.entropy) != 32:
            raise ValueError(f"entropy must be 32 bytes, got {len(self.entropy)}")
        kale.farmer_bytes(self.farmer)  # raises ValueError naming the farmer

    def state(self) -> np.ndarray:
        """The 25 Keccak lanes of the padded input with the nonce bytes zero (backends OR it in)."""
        block = bytearray(kale.preimage(self.index, 0, self.entropy, self.farmer))
        block += bytes(200 - len(block))
        block[kale.PREIMAGE_LENGTH] ^= 0x01
        block[RATE_BYTES - 1] ^= 0x80
        return np.frombuffer(bytes(block), dtype="<u8").astype(np.uint64)


@dataclass(frozen=True)
class SearchResult:
    """The best nonce found for a job, its host-verified hash, and the work it took.

    hashes counts this job's nonces; seconds is the wall time of the whole call.
    """

    nonce: int
    hash: bytes
    zeros: int
    hashes: int
    seconds: float


class Searcher(ABC):
    """A device that finds the best nonce per job in a nonce range, keeping its rate in mind.

    Open one per device and keep it: the build, buffers and measured rate carry over
    from call to call. Not thread-safe: one thread per searcher.
    """

    kind: str  # "opencl" or "cpu"
    description: str  # platform, device and tuning, for people

    def __init__(self) -> None:
        self._rate: float | None = None  # hashes per second, measured on real scans

    @property
    def rate(self) -> float | None:
        """Hashes per second over the latest full-size scan; None until one has run."""
        return self._rate

    @abstractmethod
    def _scan(self, states: np.ndarray, start: int, count: int) -> np.ndarray:
        """Best key per row of states (farmers x 25 lanes) over nonces start .. start + count - 1."""

    def search(self, jobs: Sequence[Job], start_nonce: int, count: int) -> list[SearchResult]:
        """For each job, the best nonce in start_nonce .. start_nonce + count - 1 (ties: lowest)."""
        jobs = _check_jobs(jobs)
        _check_int("start_nonce", start_nonce, 0, U64_MAX)
        _check_int("count", count, 1, U64_MAX - start_nonce + 1)
        began = time.perf_counter()
        best = self._best(jobs, start_nonce, count)
        seconds = time.perf_counter() - began
        return [_verified(job, zeros, nonce, count, seconds, self.description)
                for job, (zeros, nonce) in zip(jobs, best)]

    def search_until(self, job: Job, difficulty: int | None = None, seconds: float | None = None,
                     start_nonce: int = 0) -> SearchResult:
        """Scan upwards from start_nonce until a hash has at least `difficulty` zeros or
        `seconds` pass (give at least one), and return the best hash seen.

        Stops after the scan that crosses either line, so it may run past `seconds` by
        one scan (~SCAN_SECONDS) and return a hash with more zeros than asked for.
        """
        _check_jobs([job])
        if difficulty is None and seconds is None:
            raise ValueError("give difficulty, seconds, or both")
        if difficulty is not None:
            _check_int("difficulty", difficulty, 1, MAX_ZEROS)
        if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        _check_int("start_nonce", start_nonce, 0, U64_MAX)
        began = time.perf_counter()
        best = (-1, 0)
        nonce = start_nonce
        while True:
            count = min(self._scan_size(1), U64_MAX - nonce + 1)
            if seconds is not None and self._rate is not None:
                left = seconds - (time.perf_counter() - began)
                count = max(1, min(count, int(left * self._rate)))
            (zeros, found), = self._best([job], nonce, count)
            if zeros > best[0]:
                best = (zeros, found)
            nonce += count
            elapsed = time.perf_counter() - began
            if ((difficulty is not None and best[0] >= difficulty)
                    or (seconds is not None and elapsed >= seconds) or nonce > U64_MAX):
                return _verified(job, *best, nonce - start_nonce, elapsed, self.description)

    def _best(self, jobs: list[Job], start: int, count: int) -> list[tuple[int, int]]:
        """(zeros, nonce) per job over the range, in scans sized to the measured rate."""
        states = np.stack([job.state() for job in jobs])
        best = [(-1, 0)] * len(jobs)
        end = start + count
        while start < end:
            planned = self._scan_size(len(jobs))
            size = min(planned, end - start)
            began = time.perf_counter()
            keys = self._scan(states, start, size)
            if size == planned:  # a range cut short times overhead, not speed
                self._learn_rate(size * len(jobs), time.perf_counter() - began)
            for i, key in enumerate(int(k) for k in keys):
                zeros, nonce = key >> 32, start + U32_MAX - (key & U32_MAX)
                if key and zeros > best[i][0]:  # later scans only win with more zeros
                    best[i] = (zeros, nonce)
            start += size
        return best

    def _scan_size(self, farmers: int) -> int:
        """Nonces per farmer for one scan of about SCAN_SECONDS."""
        if self._rate is None:
            return FIRST_SCAN
        return max(1, min(MAX_SCAN, int(self._rate * SCAN_SECONDS / farmers)))

    def _learn_rate(self, hashes: int, seconds: float) -> None:
        # Growth is capped so one fast outlier cannot make the next scan huge.
        rate = hashes / max(seconds, 1e-6)
        self._rate = rate if self._rate is None else min(rate, 4 * self._rate)


def open_searcher(device: str = "auto", opencl_device: str | None = None) -> Searcher:
    """A ready searcher: "opencl", "cpu" (numba), or "auto" = OpenCL if any device exists, else cpu.

    opencl_device picks the OpenCL device ("P:D" indices or part of its name), else
    $KALEPOOL_OPENCL_DEVICE, else the best one (see opencl_search.pick_device).
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "auto":
        from gpu_miner.search.opencl import opencl_devices
        device = "opencl" if opencl_devices() else "cpu"
    if device == "opencl":
        from gpu_miner.search.opencl import OpenCLSearcher
        return OpenCLSearcher(opencl_device)
    from gpu_miner.search.cpu import CpuSearcher
    return CpuSearcher()


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def _check_jobs(jobs: Sequence[Job]) -> list[Job]:
    jobs = list(jobs)
    if not jobs or not all(isinstance(job, Job) for job in jobs):
        raise ValueError(f"jobs must be a non-empty sequence of Job, got {jobs!r}")
    return jobs


def _verified(job: Job, zeros: int, nonce: int, hashes: int, seconds: float,
              device: str) -> SearchResult:
    """The result after recomputing the hash on the host: a wrong nonce is worth nothing."""
    digest = kale.kale_hash(job.index, nonce, job.entropy, job.farmer)
    if kale.count_zeros(digest) != zeros:
        raise RuntimeError(f"{device} reported nonce {nonce} with {zeros} zeros for {job.farmer}, "
                           f"but its hash has {kale.count_zeros(digest)}")
    return SearchResult(nonce=nonce, hash=digest, zeros=zeros, hashes=hashes, seconds=seconds)
