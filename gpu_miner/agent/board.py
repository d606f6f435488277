"""What the agent's parts share: the blocks it works, each block's run figures, the chain's latest ledger, one lock.

The control loop (coordinator.py) writes the chain's view here; planting, hashing,
sending, settling and reporting read and update the blocks under `lock`, mark the
board `changed`, and the loop saves it to the state file.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from chain.kale import BLOCK_INTERVAL
from chain.rpc import Ledger
from chain.storage import FarmState
from gpu_miner.agent import policy
from gpu_miner.agent.state_file import BlockWork, StateFile, dumps

Spawn = Callable[..., Future]  # runs function(*args) in the background (tests run it at once)


class Events(Protocol):
    def emit(self, event: str, **fields: Any) -> None: ...

    def show(self, snapshot: dict[str, Any]) -> None: ...


class AgentStopped(RuntimeError):
    """The agent cannot go on (e.g. the pool refuses its API key); the message says why."""


@dataclass(frozen=True)
class AgentConfig:
    """Tunables of the agent (CLI flags)."""

    margin_ledgers: int = 2
    min_extra_zeros: int = 1
    chunk_seconds: float = 0.5
    base_fee: int = 100
    tx_timeout: int = 60
    max_channels: int = 100
    status_seconds: float = 1.0
    keep_blocks: int = 3
    max_blocks: int | None = None  # stop after this many blocks are done (benchmarks, tests)


@dataclass
class BlockRun:
    """What the agent measures and knows about a block while it runs (not saved)."""

    seen_at: float
    answered: bool = False
    failed: list[dict[str, Any]] = field(default_factory=list)
    plant_tries: int = 0
    answer_ledger: int = 0
    jobs_since: float | None = None
    busy: float = 0.0
    idle: float = 0.0
    hashes: int = 0
    mining_done: bool = False
    due_at: float | None = None
    closed_at: float | None = None
    reporting: bool = False
    done: bool = False


def background(function: Callable[..., Any], *args: Any) -> Future:
    """Run `function(*args)` on a daemon thread (a hung HTTP call never blocks exit)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # handed to whoever reads the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


class PoolGate:
    """Backoff for calls to the pool: plant requests and reports wait for `ready` after a failure."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.backoff = policy.Backoff()
        self.retry_at = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.retry_at

    def failed(self, message: str) -> None:
        delay = self.backoff.next_delay()
        self.retry_at = time.monotonic() + delay
        self.events.emit("error", where="pool", message=message[:300], retry_in=delay)

    def succeeded(self) -> None:
        self.backoff.reset()


class Board:
    """The shared state of one pooler's agent."""

    def __init__(self, pooler: str, state: StateFile, events: Events) -> None:
        self.pooler, self.state, self.events = pooler, state, events
        self.lock = threading.RLock()
        self.clock = policy.LedgerClock()
        self.pool_gate = PoolGate(events)
        self.blocks: dict[int, BlockWork] = {}
        self.runs: dict[int, BlockRun] = {}
        self.current: int | None = None
        self.latest: Ledger | None = None
        self.farm: FarmState | None = None
        self.dirty = False
        self._save_lock = threading.Lock()

    def current_block(self) -> BlockWork | None:
        return self.blocks.get(self.current) if self.current is not None else None

    def is_open(self, block: BlockWork) -> bool:
        """The chain's farm is at this block (work for it can still land)."""
        return self.farm is not None and block.index == self.farm.index

    def deadline(self, block: BlockWork, margin: int) -> policy.Deadline:
        return policy.deadline(self.latest.sequence, self.latest.close_time, block.timestamp,
                               self.clock.ledger_seconds, margin)

    def make_current(self, index: int, speculative: bool) -> None:
        """Switch hashing to block `index` (lock held) and say the block opened."""
        now = time.monotonic()
        if self.current is not None and self.current in self.runs and self.runs[self.current].closed_at is None:
            self.runs[self.current].closed_at = now
        self.current = index
        run = self.runs.setdefault(index, BlockRun(seen_at=now))
        block = self.blocks[index]
        if block.farmers:
            run.jobs_since = now
        self.events.emit("block_opened", block=index, entropy=block.entropy, timestamp=block.timestamp,
                         closes_at=block.timestamp + BLOCK_INTERVAL, ledger=self.latest.sequence,
                         speculative=speculative)

    def restore_runs(self) -> None:
        """After a (re)start: a run for every saved block, hashing over except for the open one."""
        now = time.monotonic()
        with self.lock:
            for index in sorted(self.blocks):
                self.runs[index] = BlockRun(seen_at=now, answered=True, mining_done=index != self.farm.index)
                if index == self.farm.index:
                    self.make_current(index, speculative=False)

    def changed(self) -> None:
        """Something worth saving changed (lock held, or a plain flag write)."""
        self.dirty = True

    def save(self) -> None:
        """Write the blocks to the state file; a failed write is said and tried again next tick."""
        with self._save_lock:
            with self.lock:
                text = dumps(self.pooler, self.blocks)
                self.dirty = False
            try:
                self.state.write(text)
            except OSError as exc:
                self.dirty = True
                self.events.emit("error", where="state", message=str(exc)[:300])
