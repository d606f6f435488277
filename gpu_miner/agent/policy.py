"""The pooler agent's decisions as pure functions: when to submit, whom to search, when to resubmit.

Everything here runs on numbers the agent observed (ledger sequences and close
times, wall-clock durations), so it is tested without any server.

Timing model (kale-protocol.md): a block with timestamp T is open until a plant
lands in a ledger whose close time is >= T + 300. A `work` landing in a ledger
that closes before T + 300 is safe; the gap is the work's ledger minus the plant's,
so the agent aims at the last safe ledger minus a margin.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from chain.kale import BLOCK_INTERVAL, MEDIAN_LEDGER_SECONDS

DEFAULT_LEDGER_SECONDS = MEDIAN_LEDGER_SECONDS  # mainnet's median (not the 5 s target), until ledgers are seen


class LedgerClock:
    """Ledger duration in ledger time and in wall time, learned from the ledgers seen closing."""

    def __init__(self, window: int = 20) -> None:
        self._seen: deque[tuple[int, int, float]] = deque(maxlen=window)  # (sequence, close, wall)

    def observe(self, sequence: int, close_time: int, wall: float | None = None) -> bool:
        """Record the latest ledger; True when it is one not seen before."""
        if self._seen and sequence <= self._seen[-1][0]:
            return False
        self._seen.append((sequence, close_time, time.monotonic() if wall is None else wall))
        return True

    @property
    def ledger_seconds(self) -> float:
        """Ledger-time seconds per ledger (close-time difference per sequence step)."""
        if len(self._seen) < 2:
            return DEFAULT_LEDGER_SECONDS
        (s0, c0, _), (s1, c1, _) = self._seen[0], self._seen[-1]
        return max((c1 - c0) / (s1 - s0), 1e-3) if c1 > c0 else DEFAULT_LEDGER_SECONDS

    @property
    def wall_seconds(self) -> float:
        """Wall-clock seconds per ledger; the first sighting of each ledger is its timestamp."""
        if len(self._seen) < 2:
            return DEFAULT_LEDGER_SECONDS
        (s0, _, w0), (s1, _, w1) = self._seen[0], self._seen[-1]
        return max((w1 - w0) / (s1 - s0), 1e-3)


@dataclass(frozen=True)
class Deadline:
    """Where the latest ledger stands against a block's end.

    last_safe: the last ledger expected to close before T + 300.
    target: the ledger the first work should land in (last_safe - margin).
    ledgers_left: ledgers still expected to close before T + 300.
    """

    last_safe: int
    target: int
    ledgers_left: int


def deadline(latest_sequence: int, latest_close: int, block_timestamp: int, ledger_seconds: float,
             margin: int) -> Deadline:
    """The block's last safe ledger and the work's target ledger, projected from the latest ledger."""
    end = block_timestamp + BLOCK_INTERVAL
    ahead = max(math.ceil((end - latest_close) / ledger_seconds) - 1, 0)
    last_safe = latest_sequence + ahead
    return Deadline(last_safe=last_safe, target=last_safe - margin, ledgers_left=ahead)


def lead_ledgers(submit_seconds: float, wall_seconds: float) -> int:
    """Ledgers to send ahead of the target: the time to build and send, in ledgers, rounded up."""
    return max(math.ceil(submit_seconds / max(wall_seconds, 1e-3)), 0)


class LandingDelay:
    """Ledgers from deciding to send a work to the ledger it landed in, over the last few works.

    The largest recent delay is used: landing a ledger late can cost the block,
    landing a ledger early costs one ledger of gap.
    """

    def __init__(self, window: int = 8) -> None:
        self._delays: deque[int] = deque(maxlen=window)

    def observe(self, decided_ledger: int, landed_ledger: int) -> None:
        self._delays.append(max(landed_ledger - decided_ledger, 1))

    def lead(self, fallback: int) -> int:
        """Ledgers to send ahead of the target (0 when a work lands in the next ledger)."""
        return max(self._delays) - 1 if self._delays else fallback


def should_submit(latest_sequence: int, limit: Deadline, lead: int) -> bool:
    """Time for the first work: a transaction sent now would land at (or after) the target."""
    return latest_sequence + 1 + lead >= limit.target


def can_still_land(latest_sequence: int, limit: Deadline, lead: int) -> bool:
    """A transaction sent now is expected to land no later than the last safe ledger."""
    return latest_sequence + 1 + lead <= limit.last_safe


def worth_resubmitting(submitted_zeros: int, best_zeros: int, min_extra_zeros: int = 1) -> bool:
    """`work` only takes strictly more zeros; each extra zero is worth far more than a fee."""
    return best_zeros >= submitted_zeros + max(min_extra_zeros, 1)


def work_max_time(block_timestamp: int, latest_close: int, ledger_seconds: float,
                  timeout: int) -> int:
    """The work transaction's time bound (ledger time).

    Inside the block: just before T + 300, so a late transaction expires instead of
    landing in the next block. Past T + 300 (the block still open because nobody
    planted yet, e.g. after a restart): `timeout` from the latest ledger.
    """
    end = block_timestamp + BLOCK_INTERVAL
    if latest_close + ledger_seconds < end:
        return end - 1
    return latest_close + timeout


def pick_jobs(best_zeros: dict[str, int | None]) -> list[str]:
    """The farmers to search next: those whose best hash has the fewest zeros.

    A hash beating z zeros turns up once in 16^(z+1) tries, so a try spent on the
    farmer with the fewest zeros gains the most expected score; searching them first
    keeps every farmer near the same zeros, the largest total for the time. A farmer
    with no hash at all (None) comes before everyone.
    """
    if not best_zeros:
        return []
    rank = {farmer: -1 if zeros is None else zeros for farmer, zeros in best_zeros.items()}
    lowest = min(rank.values())
    return sorted(farmer for farmer, zeros in rank.items() if zeros == lowest)


def nonces_per_job(rate: float | None, jobs: int, seconds: float, first: int = 2**16) -> int:
    """Nonces per farmer so that one search call over `jobs` farmers lasts about `seconds`."""
    if not rate:
        return first
    return max(int(rate * seconds / max(jobs, 1)), 1)


class Backoff:
    """Exponential backoff with a cap: 0.5 s, 1 s, 2 s ... cap; `reset` after a success."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap = base, cap
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next try, counting this failure."""
        delay = min(self.base * 2 ** self.failures, self.cap)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
