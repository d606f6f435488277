"""The pooler agent: follow the chain's KALE blocks, get farmers planted, hash for them, send their work.

Per block (ledger time, never the wall clock):
1. A block needs opening (the latest ledger closed at or after T + 300, or the chain
   is at an index the agent has not planted): POST plant-request. If the chain
   already shows the new block, hashing for last block's farmers starts at once
   (the hash does not depend on the plant), before the pool answers.
2. One thread keeps the device busy: each search call covers the farmers whose best
   hash has the fewest zeros (policy.pick_jobs), so every farmer gets a result and
   the block's total score grows fastest. Every improvement is saved to the state file.
3. Work is sent from channel accounts so that it lands `margin` ledgers before the
   last ledger expected to close before T + 300, using the ledger duration and the
   send latency the agent observes; a clearly better hash is resubmitted while it
   can still land in time. Every hash is recomputed on the host before it is sent.
4. Landed works are reported to work-complete; then the next block.

Events (`--json`: one object per line, each with "event" and "time" = unix seconds).
Names and fields are stable; `up` parses them.
- started: pooler, network, device, state_file, restored (block indexes from the state file)
- block_opened: block, entropy, timestamp, closes_at (T + 300), ledger, speculative (hashing
  began from the chain, before the pool's plant answer)
- planted: block, planted [{farmer, ledger, stake}], failed [{farmer, reason}]
- improved: block, farmer, zeros, nonce, hash
- submitted: block, farmer, zeros, nonce, hash, tx_hash, channel, ledger (latest when sent),
  target (ledger aimed at), resubmission
- confirmed: block, farmer, tx_hash, status (success | failed | expired), ledger, gap, zeros, reason
- reported: block, accepted [{farmer, block_index, zeros, gap}], rejected [{farmer, block_index, reason}]
- block_done: block, farmers, worked, unworked [farmer], hashes, busy_seconds, idle_seconds,
  wall_seconds, idle_fraction (device idle while planted farmers were unfinished / block wall time)
- status: block, ledger, ledgers_left, target, hash_rate, idle, farmers {farmer: {best, sent, state}}
- error: where (rpc | pool | submit | verify | search | channels | state | agent), message,
  retry_in (seconds, when it is retrying)
- stopped: reason
"""
from __future__ import annotations

import contextlib
import math
import re
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

import requests
from stellar_sdk import Keypair, scval
from stellar_sdk.exceptions import BaseRequestError
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain import calls
from chain.kale import BLOCK_INTERVAL, KaleError, count_zeros, kale_hash
from chain.rpc import ChainClient, Ledger, RpcUnavailable
from chain.storage import FarmState
from chain.transactions import (Failure, SimulationFailed, build_invocation, classify_failed, classify_send,
                                return_value, sign_with)
from gpu_miner.agent import policy
from gpu_miner.agent.state_file import EXPIRED, FAILED, SUCCESS, Attempt, BlockWork, FarmerWork, Found, StateFile, dumps
from gpu_miner.agent.channels import Channels, FundingError
from gpu_miner.agent.pool_client import PlantAnswer, PoolClient, PoolRefused, PoolUnavailable

REPORT_SECONDS = 30.0  # how often the agent tells the pool its hash rate
AGENT_NAME = re.sub(r"[^A-Za-z0-9._:-]", "-", socket.gethostname())[:64] or "agent"
from gpu_miner.search.searcher import Job, Searcher

TRANSIENT = (RpcUnavailable, BaseRequestError, requests.RequestException)
MAX_FAILURES = 4  # failed works for one farmer in one block before giving it up (retryable ones aside)
RETRYABLE = ("retry", "bad_seq", "fee_too_low", "out_of_xlm", "expired")
MAX_FEE_FACTOR = 100  # inclusion fee raised up to this many times the base fee when the network asks more
RESEND_AFTER_LEDGERS = 2  # a sent transaction not on chain after this many ledgers is sent again
PLANT_RETRY_LEDGERS = 3  # ledgers between plant requests that did not open or fully plant a block
DUE_WAIT_SECONDS = 30.0  # past T + 300, how long to let this block's works land before planting the next


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


def _background(function: Callable[..., Any], *args: Any) -> Future:
    """Run `function(*args)` on a daemon thread (a hung HTTP call never blocks exit)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # handed to whoever reads the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


class Agent:
    """One pooler's agent: a control loop (this thread) and a mining thread sharing `blocks`."""

    def __init__(self, client: ChainClient, pool: PoolClient, searcher: Searcher, pooler: Keypair,
                 channels: Channels, state: StateFile, events: Events, config: AgentConfig = AgentConfig()):
        self.client, self.pool, self.searcher = client, pool, searcher
        self.pooler, self.channels, self.state, self.events = pooler.public_key, channels, state, events
        self.config = config
        self.contract = client.network.farm_contract
        self.clock = policy.LedgerClock()
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.blocks: dict[int, BlockWork] = {}
        self.runs: dict[int, BlockRun] = {}
        self.current: int | None = None
        self.latest: Ledger | None = None
        self.farm: FarmState | None = None
        self.rate: float | None = None
        self.submit_seconds = 0.3  # build + send latency, learned from each send
        self.landing = policy.LandingDelay()
        self.blocks_done = 0
        self._restored = False
        self._dirty = False
        self._save_lock = threading.Lock()
        self._rpc_backoff, self._pool_backoff = policy.Backoff(), policy.Backoff()
        self._pool_retry_at = 0.0
        self._plant: Future | None = None
        self._channels_job: Future | None = None
        self._channels_retry_at = 0.0
        self._topup = False
        self._channels_wanted = 0  # how many the ensure in flight makes
        self._in_flight: set[tuple[int, str]] = set()  # (block, farmer) being sent or resolved
        self._envelopes: dict[str, tuple[str, int]] = {}  # tx hash -> (signed XDR, ledger when sent)
        self._decided: dict[str, int] = {}  # tx hash -> latest ledger when sending it was decided
        self._failures: dict[tuple[int, str], int] = {}  # (block, farmer) -> failed tries
        self._not_before: dict[tuple[int, str], int] = {}  # (block, farmer) -> first ledger to try again
        self._fee = config.base_fee
        self._status_at = 0.0
        self._reported_at = -REPORT_SECONDS
        self._spawn: Callable[..., Future] = _background

    # -- the loops -----------------------------------------------------------------------------
    def run(self) -> None:
        """Work blocks until `stop()`, a fatal error, or `config.max_blocks` blocks are done."""
        self.blocks = self.state.load(self.pooler)
        self.events.emit("started", pooler=self.pooler, network=self.client.network.name,
                         device=self.searcher.description, state_file=str(self.state.path),
                         restored=sorted(self.blocks))
        miner = threading.Thread(target=self._mine_loop, name="miner", daemon=True)
        miner.start()
        reason = "stopped"
        try:
            while not self.stopping.is_set():
                try:
                    self._tick()
                    self._rpc_backoff.reset()
                except TRANSIENT as exc:
                    delay = self._rpc_backoff.next_delay()
                    self.events.emit("error", where="rpc", message=str(exc)[:300], retry_in=delay)
                    self.stopping.wait(delay)
                    continue
                except AgentStopped:
                    raise
                except Exception as exc:  # e.g. a garbled RPC answer: say it, back off, never crash-loop
                    delay = self._rpc_backoff.next_delay()
                    self.events.emit("error", where="agent", message=f"{type(exc).__name__}: {exc}"[:300],
                                     retry_in=delay)
                    self.stopping.wait(delay)
                    continue
                if self.config.max_blocks is not None and self.blocks_done >= self.config.max_blocks:
                    reason = f"{self.blocks_done} blocks done"
                    break
                self.stopping.wait(min(max(self.clock.wall_seconds / 4, 0.02), 1.0))
        except AgentStopped as exc:
            reason = str(exc)
            raise
        finally:
            self.stopping.set()
            miner.join(timeout=10)
            self._save()
            self.events.emit("stopped", reason=reason)

    def stop(self) -> None:
        self.stopping.set()

    def _tick(self) -> None:
        latest = self.client.latest_ledger()
        new_ledger = self.clock.observe(latest.sequence, latest.close_time)
        if new_ledger or self.farm is None:
            self.farm = self.client.farm_state()
        self.latest = latest
        if not self._restored:
            self._restore()
        self._collect_plant()
        self._collect_channels()
        if self._topup:
            self._ensure_channels(self.channels.count)
        self._follow_chain()
        self._request_plant()
        if new_ledger:
            self._resolve_pending()
        self._submit_due()
        self._update_mining()
        self._report_and_finish()
        if self._dirty:
            self._save()
        self._show_status()

    # -- blocks ----------------------------------------------------------------------------------
    def _restore(self) -> None:
        """After a (re)start: re-verify saved nonces, hold busy channels, pick up the open block."""
        now, highest = time.monotonic(), 0
        with self.lock:
            for index, block in sorted(self.blocks.items()):
                self.runs[index] = BlockRun(seen_at=now, answered=True, mining_done=index != self.farm.index)
                for farmer in block.farmers.values():
                    if farmer.best is not None and not self._verified(block, farmer.address, farmer.best):
                        farmer.best = None
                    pending = farmer.pending
                    if pending is not None:
                        self.channels.hold(pending.channel)
                        highest = max(highest, pending.channel + 1)
                if index == self.farm.index:
                    self._make_current(index, speculative=False)
            self._restored = True
        if highest:
            self._ensure_channels(highest)

    def _make_current(self, index: int, speculative: bool) -> None:
        """Switch hashing to block `index` (lock held)."""
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

    def _follow_chain(self) -> None:
        """When the chain is at a block the agent is not hashing yet, start on it with last block's farmers."""
        index = self.farm.index
        if self.current is not None and index <= self.current:
            return
        if index not in self.blocks:
            entry = self.client.block(index)
            if entry is None:
                return
            block = BlockWork(index=index, entropy=entry.value.entropy.hex(), timestamp=entry.value.timestamp)
            previous = self.blocks.get(self.current) if self.current is not None else None
            for address, farmer in (previous.farmers.items() if previous else []):
                if farmer.plant_ledger is not None:
                    block.farmers[address] = FarmerWork(address)
            with self.lock:
                self.blocks[index] = block
        with self.lock:
            self._make_current(index, speculative=True)

    def _request_plant(self) -> None:
        """Ask the pool to plant when a block needs opening or planting (one request at a time)."""
        if self._plant is not None or time.monotonic() < self._pool_retry_at:
            return
        block = self.blocks.get(self.current) if self.current is not None else None
        run = self.runs.get(self.current) if self.current is not None else None
        latest = self.latest
        expected: int | None
        if block is None:
            expected = None
        elif not run.answered:
            expected = block.index
        elif latest.close_time >= block.timestamp + BLOCK_INTERVAL:
            if run.due_at is None:
                run.due_at = time.monotonic()
            if self._unfinished_sends(block) and time.monotonic() < run.due_at + DUE_WAIT_SECONDS:
                return
            if latest.sequence < run.answer_ledger + PLANT_RETRY_LEDGERS:  # e.g. the farm is paused
                return
            expected = block.index + 1
        elif (run.failed and run.plant_tries < 3 and latest.sequence >= run.answer_ledger + PLANT_RETRY_LEDGERS
              and self._limit(block).ledgers_left > self.config.margin_ledgers + 5):
            expected = block.index
        else:
            return
        self._plant = self._spawn(self.pool.plant_request, expected)

    def _collect_plant(self) -> None:
        future = self._plant
        if future is None or not future.done():
            return
        self._plant = None
        try:
            answer = future.result()
        except PoolUnavailable as exc:
            self._pool_failed(str(exc))
            return
        except PoolRefused as exc:
            if exc.status in (401, 403):
                raise AgentStopped(str(exc)) from None
            self._pool_failed(str(exc))
            return
        if answer.block is None:
            self._pool_failed("the pool answered without a block (the farm has none yet?)")
            return
        self._pool_backoff.reset()
        self._on_planted(answer)

    def _pool_failed(self, message: str) -> None:
        delay = self._pool_backoff.next_delay()
        self._pool_retry_at = time.monotonic() + delay
        self.events.emit("error", where="pool", message=message[:300], retry_in=delay)

    def _on_planted(self, answer: PlantAnswer) -> None:
        opened = answer.block
        if self.current is not None and opened.index < self.current:
            self.events.emit("error", where="pool", message=f"plant answer for block {opened.index}, "
                                                            f"but the chain is at {self.current}")
            return
        with self.lock:
            block = self.blocks.get(opened.index)
            if block is None or block.entropy != opened.entropy.hex():
                block = BlockWork(index=opened.index, entropy=opened.entropy.hex(), timestamp=opened.timestamp)
                self.blocks[opened.index] = block
            if self.current != opened.index:
                self._make_current(opened.index, speculative=False)
            run = self.runs[opened.index]
            had_jobs = bool(self._job_farmers(block, run))
            for planted in answer.planted:
                if planted.block_index != opened.index:
                    continue
                farmer = block.farmers.setdefault(planted.address, FarmerWork(planted.address))
                farmer.plant_ledger, farmer.stake, farmer.farmer_id = planted.ledger, planted.stake, planted.farmer_id
            # a pending farmer's plant was sent but not yet confirmed: asking again (idempotent) learns how it went
            run.answered, run.failed = True, answer.failed + answer.pending
            run.plant_tries += 1
            run.answer_ledger = self.latest.sequence
            if not had_jobs and self._job_farmers(block, run):
                run.jobs_since = time.monotonic()
            self._dirty = True
            count = sum(1 for f in block.farmers.values() if f.plant_ledger is not None)
        self.events.emit("planted", block=opened.index,
                         planted=[{"farmer": p.address, "ledger": p.ledger, "stake": p.stake}
                                  for p in answer.planted],
                         failed=[{"farmer": f.get("address"), "reason": f.get("reason")} for f in answer.failed])
        self._ensure_channels(count)

    # -- channels --------------------------------------------------------------------------------
    def _ensure_channels(self, count: int) -> None:
        """Create (or top up, after a channel ran out of XLM) channels in the background."""
        count = min(max(count, self.channels.count), self.config.max_channels)
        if (count <= self.channels.count and not self._topup) or self._channels_job is not None:
            return
        if count == 0 or time.monotonic() < self._channels_retry_at:
            return
        self._topup = False
        self._channels_wanted = count
        self._channels_job = self._spawn(self.channels.ensure, count)

    def _collect_channels(self) -> None:
        future = self._channels_job
        if future is None or not future.done():
            return
        self._channels_job = None
        try:
            future.result()
        except (FundingError, *TRANSIENT) as exc:
            self._channels_retry_at = time.monotonic() + 5
            self.events.emit("error", where="channels", message=str(exc)[:300], retry_in=5)

    # -- hashing ---------------------------------------------------------------------------------
    def _job_farmers(self, block: BlockWork, run: BlockRun) -> dict[str, int | None]:
        """Farmers to hash for (lock held) with their best zeros: planted ones, or last block's
        farmers until the pool answers; once no work can improve, only those with nothing yet."""
        open_block = self.farm is not None and block.index == self.farm.index
        farmers = {}
        for address, farmer in block.farmers.items():
            if farmer.closed is not None or (run.answered and farmer.plant_ledger is None):
                continue
            if run.mining_done and (farmer.best is not None or not open_block):
                continue
            farmers[address] = None if farmer.best is None else farmer.best.zeros
        return farmers

    def _next_search(self) -> tuple[BlockWork, BlockRun, list[str], int, int] | None:
        with self.lock:
            if self.current is None or self.current not in self.runs:
                return None
            block, run = self.blocks[self.current], self.runs[self.current]
            farmers = policy.pick_jobs(self._job_farmers(block, run))
            if not farmers:
                return None
            # per call the host spends ~0.05 ms per farmer (jobs, verifying): longer calls for many farmers
            seconds = min(max(self.config.chunk_seconds, 0.002 * len(farmers)), 5.0)
            count = policy.nonces_per_job(self.rate, len(farmers), seconds)
            start = block.next_nonce
            block.next_nonce += count
            return block, run, farmers, start, count

    def _mine_loop(self) -> None:
        """Keep the device hashing for the current block's farmers; count the gaps as idle time."""
        last_end, last_block = 0.0, None
        known: dict[str, Job] = {}  # this block's jobs, made once per farmer
        known_for: tuple[int, str] | None = None
        while not self.stopping.is_set():
            picked = self._next_search()
            if picked is None:
                self.stopping.wait(0.005)
                continue
            block, run, farmers, start, count = picked
            if known_for != (block.index, block.entropy):
                known, known_for = {}, (block.index, block.entropy)
            for address in farmers:
                if address not in known:
                    known[address] = Job(block.index, block.entropy_bytes, address)
            jobs = [known[address] for address in farmers]
            began = time.monotonic()
            since = max(run.jobs_since or began, last_end if last_block == block.index else 0.0)
            try:
                results = self.searcher.search(jobs, start, count)
            except Exception as exc:  # a device fault must not kill the agent; say it and go on
                self.events.emit("error", where="search", message=str(exc)[:300], retry_in=1.0)
                self.stopping.wait(1.0)
                continue
            ended = time.monotonic()
            improved = []
            with self.lock:
                run.idle += max(began - since, 0.0)
                run.busy += ended - began
                run.hashes += count * len(jobs)
                measured = count * len(jobs) / max(ended - began, 1e-6)
                self.rate = measured if self.rate is None else 0.7 * self.rate + 0.3 * measured
                for address, result in zip(farmers, results):
                    farmer = block.farmers.get(address)
                    if farmer is not None and (farmer.best is None or result.zeros > farmer.best.zeros):
                        farmer.best = Found(result.nonce, result.hash.hex(), result.zeros)
                        improved.append((address, farmer.best))
                        self._dirty = True
            for address, best in improved:
                self.events.emit("improved", block=block.index, farmer=address, zeros=best.zeros, nonce=best.nonce,
                                 hash=best.hash)
            last_end, last_block = ended, block.index

    def _update_mining(self) -> None:
        """A block's hashing ends when no better work could land in time any more."""
        with self.lock:
            for index, run in self.runs.items():
                if run.mining_done:
                    continue
                block = self.blocks[index]
                if index != self.farm.index:
                    run.mining_done = True
                elif run.answered and not policy.can_still_land(self.latest.sequence, self._limit(block),
                                                                 self._lead(block)):
                    run.mining_done = True

    # -- sending work ----------------------------------------------------------------------------
    def _limit(self, block: BlockWork) -> policy.Deadline:
        return policy.deadline(self.latest.sequence, self.latest.close_time, block.timestamp,
                               self.clock.ledger_seconds, self.config.margin_ledgers)

    def _lead(self, block: BlockWork) -> int:
        """Ledgers ahead of the target to send: the send latency, plus waves when channels are few."""
        unsent = sum(1 for f in block.farmers.values()
                     if f.plant_ledger is not None and f.closed is None and f.sent_zeros is None)
        channels = max(self.channels.count, self._channels_wanted if self._channels_job else 0)
        waves = math.ceil(unsent / max(channels, 1))
        fallback = policy.lead_ledgers(self.submit_seconds, self.clock.wall_seconds)
        return self.landing.lead(fallback) + max(waves - 1, 0)

    def _unfinished_sends(self, block: BlockWork) -> bool:
        """Works of this block still in flight, or found and never sent, while it is still open."""
        if block.index != self.farm.index:
            return False
        with self.lock:
            return any((block.index, f.address) in self._in_flight or f.pending is not None
                       or (f.best is not None and f.sent_zeros is None and f.closed is None
                           and f.plant_ledger is not None)
                       for f in block.farmers.values())

    def _submit_due(self) -> None:
        block = self.blocks.get(self.current) if self.current is not None else None
        if block is None or block.index != self.farm.index:
            return
        self._ensure_channels(sum(1 for f in block.farmers.values() if f.plant_ledger is not None))
        if self.channels.count == 0:
            return
        latest = self.latest
        with self.lock:
            limit, lead = self._limit(block), self._lead(block)
            due = []
            for farmer in block.farmers.values():
                key = (block.index, farmer.address)
                if (farmer.plant_ledger is None or farmer.closed is not None or farmer.best is None
                        or key in self._in_flight or farmer.pending is not None
                        or latest.sequence <= farmer.plant_ledger
                        or latest.sequence < self._not_before.get(key, 0)):
                    continue
                sent = farmer.sent_zeros
                if sent is None:
                    ready = policy.should_submit(latest.sequence, limit, lead)
                else:
                    ready = (policy.worth_resubmitting(sent, farmer.best.zeros, self.config.min_extra_zeros)
                             and policy.can_still_land(latest.sequence, limit, lead))
                if ready:
                    due.append((farmer, sent is not None))
            for farmer, again in sorted(due, key=lambda item: item[1]):  # first works before resubmissions
                channel = self.channels.acquire()
                if channel is None:
                    break
                self._in_flight.add((block.index, farmer.address))
                self._spawn(self._send_work, block, farmer, replace(farmer.best), channel, limit.target, again,
                            latest.sequence)

    def _verified(self, block: BlockWork, address: str, found: Found) -> bool:
        """Recompute the hash on the host; a mismatch is reported and never sent."""
        digest = kale_hash(block.index, found.nonce, block.entropy_bytes, address)
        if digest.hex() == found.hash and count_zeros(digest) == found.zeros:
            return True
        self.events.emit("error", where="verify", message=f"block {block.index} farmer {address}: nonce "
                                                          f"{found.nonce} does not give the hash found; dropped")
        return False

    def _send_work(self, block: BlockWork, farmer: FarmerWork, found: Found, channel: int, target: int,
                   again: bool, decided: int) -> None:
        """Build, record, sign and send one `work` from a channel (on its own thread)."""
        began = time.monotonic()
        release = True
        try:
            if not self._verified(block, farmer.address, found):
                with self.lock:
                    if farmer.best is not None and farmer.best.nonce == found.nonce:
                        farmer.best = None
                return
            keypair = self.channels.keypairs[channel]
            account = self.client.account(keypair.public_key)
            if account is None:
                raise FundingError(f"channel {channel} ({keypair.public_key}) does not exist")
            latest = self.client.latest_ledger()
            max_time = policy.work_max_time(block.timestamp, latest.close_time, self.clock.ledger_seconds,
                                            self.config.tx_timeout)
            operation = calls.work(self.contract, farmer.address, bytes.fromhex(found.hash), found.nonce)
            envelope = build_invocation(self.client, keypair.public_key, account.sequence, operation,
                                        self._fee, max_time)
            signed = sign_with(envelope, keypair)
            attempt = Attempt(tx_hash=envelope.hash_hex(), nonce=found.nonce, hash=found.hash, zeros=found.zeros,
                              channel=channel, max_time=max_time)
            with self.lock:
                farmer.attempts.append(attempt)
                self._envelopes[attempt.tx_hash] = (signed, latest.sequence)
                self._decided[attempt.tx_hash] = decided
            self._save()  # written down before it is sent: a restart resolves it from the chain
            release = False
            failure = classify_send(self.client.send(signed))
            elapsed = time.monotonic() - began
            self.submit_seconds = 0.7 * self.submit_seconds + 0.3 * elapsed
            if failure is not None:
                self._settle(block, farmer, attempt, FAILED, failure=failure)
                return
            self.events.emit("submitted", block=block.index, farmer=farmer.address, zeros=found.zeros,
                             nonce=found.nonce, hash=found.hash, tx_hash=attempt.tx_hash, channel=channel,
                             ledger=latest.sequence, target=target, resubmission=again)
        except SimulationFailed as exc:
            self._after_failure(block, farmer, exc.failure)
            self.events.emit("error", where="submit", message=f"block {block.index} farmer {farmer.address}: "
                                                              f"{exc.failure.name} {exc.failure.detail}"[:300])
        except (FundingError, *TRANSIENT) as exc:
            with self.lock:
                self._not_before[(block.index, farmer.address)] = self.latest.sequence + 1
            self.events.emit("error", where="submit", message=f"block {block.index} farmer {farmer.address}: "
                                                              f"{exc}"[:300])
        finally:
            if release:
                self.channels.release(channel)
            with self.lock:
                self._in_flight.discard((block.index, farmer.address))

    def _resolve_pending(self) -> None:
        """Look up every pending work transaction once per new ledger (each on its own thread)."""
        with self.lock:
            for block in self.blocks.values():
                for farmer in block.farmers.values():
                    attempt = farmer.pending
                    key = (block.index, farmer.address)
                    if attempt is not None and key not in self._in_flight:
                        self._in_flight.add(key)
                        self._spawn(self._resolve, block, farmer, attempt)

    def _resolve(self, block: BlockWork, farmer: FarmerWork, attempt: Attempt) -> None:
        try:
            found = self.client.transaction(attempt.tx_hash)
            if found.status == GetTransactionStatus.SUCCESS:
                value = return_value(found)
                gap = scval.from_uint32(value) if value is not None else None
                self._settle(block, farmer, attempt, SUCCESS, ledger=found.ledger, gap=gap)
            elif found.status == GetTransactionStatus.FAILED:
                self._settle(block, farmer, attempt, FAILED, ledger=found.ledger, failure=classify_failed(found))
            elif found.latest_ledger_close_time is not None and int(found.latest_ledger_close_time) > attempt.max_time:
                self._settle(block, farmer, attempt, EXPIRED)
            else:
                self._resend(attempt, found.latest_ledger)
        except TRANSIENT as exc:
            self.events.emit("error", where="rpc", message=str(exc)[:300])
        finally:
            with self.lock:
                self._in_flight.discard((block.index, farmer.address))

    def _resend(self, attempt: Attempt, latest: int) -> None:
        """A transaction missing from the chain a while after sending is sent again (same envelope)."""
        with self.lock:
            kept = self._envelopes.get(attempt.tx_hash)
            if kept is None or latest < kept[1] + RESEND_AFTER_LEDGERS:
                return
            self._envelopes[attempt.tx_hash] = (kept[0], latest)
        self.client.send(kept[0])

    def _settle(self, block: BlockWork, farmer: FarmerWork, attempt: Attempt, status: str,
                ledger: int | None = None, gap: int | None = None, failure: Failure | None = None) -> None:
        """Record what became of an attempt, free its channel, and say so."""
        with self.lock:
            attempt.status, attempt.ledger, attempt.gap = status, ledger, gap
            attempt.reason = failure.name if failure is not None else None
            if status == SUCCESS:
                farmer.chain_zeros = max(farmer.chain_zeros or 0, attempt.zeros)
            decided = self._decided.pop(attempt.tx_hash, None)
            if decided is not None and ledger is not None:
                self.landing.observe(decided, ledger)
            self._envelopes.pop(attempt.tx_hash, None)
            self._dirty = True
        self.channels.release(attempt.channel)
        if failure is not None:
            self._after_failure(block, farmer, failure)
        self.events.emit("confirmed", block=block.index, farmer=farmer.address, tx_hash=attempt.tx_hash,
                         status=status, ledger=ledger, gap=gap, zeros=attempt.zeros, reason=attempt.reason)

    def _after_failure(self, block: BlockWork, farmer: FarmerWork, failure: Failure) -> None:
        """Decide whether and when a farmer's work can be sent again after a failure."""
        key, code = (block.index, farmer.address), failure.contract_code
        with self.lock:
            self._failures[key] = self._failures.get(key, 0) + 1
            self._not_before[key] = self.latest.sequence + 1  # at most one try per ledger
            if failure.kind == "fee_too_low":
                self._fee = min(self._fee * 2, self.config.base_fee * MAX_FEE_FACTOR)
            if failure.kind == "out_of_xlm":
                self._topup = True
            if code in (KaleError.PailMissing, KaleError.BlockMissing):
                farmer.closed = failure.name
            elif (code != KaleError.GapCountTooLow and failure.kind not in RETRYABLE
                  and self._failures[key] >= MAX_FAILURES):
                farmer.closed = f"{self._failures[key]} failed works, last {failure.name}"
            self._dirty = True
        if code == KaleError.ZeroCountTooLow:  # the pail holds at least as many zeros: learn how many
            pail = self.client.pails([(farmer.address, block.index)]).get((farmer.address, block.index))
            if pail is not None and pail.value.zeros is not None:
                with self.lock:
                    farmer.chain_zeros = max(farmer.chain_zeros or 0, pail.value.zeros)

    # -- reporting -------------------------------------------------------------------------------
    def _report_and_finish(self) -> None:
        """Report landed works of blocks whose hashing is over; close out blocks the chain has left."""
        for index in sorted(self.blocks):
            block, run = self.blocks[index], self.runs.get(index)
            if run is None or run.done or not run.mining_done or run.reporting:
                continue
            with self.lock:
                busy = any(f.pending is not None or (index, f.address) in self._in_flight
                           for f in block.farmers.values())
                items = [f for f in block.farmers.values() if f.landed is not None and not f.reported]
            if busy:
                continue
            if items:
                if time.monotonic() >= self._pool_retry_at:
                    run.reporting = True
                    self._spawn(self._report, block, run, items)
                continue
            if index < self.farm.index:
                self._finish(block, run)

    def _report(self, block: BlockWork, run: BlockRun, farmers: list[FarmerWork]) -> None:
        results = [{"farmer": f.address, "block_index": block.index, "nonce": f.landed.nonce,
                    "hash": f.landed.hash, "tx_hash": f.landed.tx_hash} for f in farmers]
        try:
            answer = self.pool.work_complete(results)
        except PoolUnavailable as exc:
            self._pool_failed(str(exc))
            return
        except PoolRefused as exc:
            answer = {"accepted": [], "rejected": [{"farmer": f.address, "block_index": block.index,
                                                    "reason": str(exc)} for f in farmers]}
        finally:
            run.reporting = False
        with self.lock:
            for farmer in farmers:
                farmer.reported = True
            self._dirty = True
        self._pool_backoff.reset()
        self.events.emit("reported", block=block.index, **answer)

    def _finish(self, block: BlockWork, run: BlockRun) -> None:
        """The chain has moved past this block and everything is reported: sum it up, forget old blocks."""
        run.done = True
        planted = [f for f in block.farmers.values() if f.plant_ledger is not None]
        if planted:  # a block the agent only watched (nobody planted) is not one it worked
            unworked = [f.address for f in planted if f.landed is None]
            wall = (run.closed_at or time.monotonic()) - run.seen_at
            self.events.emit("block_done", block=block.index, farmers=len(planted),
                             worked=len(planted) - len(unworked), unworked=unworked, hashes=run.hashes,
                             busy_seconds=round(run.busy, 3), idle_seconds=round(run.idle, 3),
                             wall_seconds=round(wall, 3), idle_fraction=round(run.idle / wall, 5) if wall > 0 else 0.0)
            self.blocks_done += 1
        with self.lock:
            for index in [i for i in self.blocks if i < self.farm.index - self.config.keep_blocks]:
                if self.runs.get(index) is None or self.runs[index].done:
                    del self.blocks[index]
                    self.runs.pop(index, None)
            for tries in (self._failures, self._not_before):
                for key in [k for k in tries if k[0] not in self.blocks]:
                    del tries[key]
            self._dirty = True

    # -- saving and showing ----------------------------------------------------------------------
    def _save(self) -> None:
        with self._save_lock:
            with self.lock:
                text = dumps(self.pooler, self.blocks)
                self._dirty = False
            try:
                self.state.write(text)
            except OSError as exc:
                self._dirty = True
                self.events.emit("error", where="state", message=str(exc)[:300])

    def snapshot(self) -> dict[str, Any]:
        """The live status: block, ledgers left, farmers with best and sent zeros, hash rate, idle share."""
        with self.lock:
            view: dict[str, Any] = {"block": self.current, "ledger": self.latest.sequence if self.latest else None,
                                    "hash_rate": round(self.rate or 0.0)}
            block = self.blocks.get(self.current) if self.current is not None else None
            if block is None or self.latest is None:
                return view
            run, limit = self.runs[block.index], self._limit(block)
            wall = time.monotonic() - run.seen_at
            view.update(ledgers_left=limit.ledgers_left, target=limit.target,
                        idle=round(run.idle / wall, 5) if wall > 0 else 0.0, farmers={})
            for address, farmer in block.farmers.items():
                landed = farmer.landed
                state = ("closed: " + farmer.closed if farmer.closed else
                         "pending" if farmer.pending else
                         f"landed gap {landed.gap}" if landed else
                         "planted" if farmer.plant_ledger is not None else "waiting for plant")
                view["farmers"][address] = {"best": farmer.best.zeros if farmer.best else None,
                                            "sent": farmer.sent_zeros, "state": state}
            return view

    def _show_status(self) -> None:
        now = time.monotonic()
        if now - self._status_at >= self.config.status_seconds:
            self._status_at = now
            view = self.snapshot()
            self.events.show(view)
            if now - self._reported_at >= REPORT_SECONDS:
                self._reported_at = now
                threading.Thread(target=self._report_status, args=(view,), daemon=True).start()

    def _report_status(self, view: dict[str, Any]) -> None:
        """Tell the pool this agent's hash rate (the pooler's console shows it); never in the loop's way.
        Best effort: a report the pool does not get is replaced by the next one."""
        with contextlib.suppress(PoolUnavailable, PoolRefused):
            self.pool.report_status(AGENT_NAME, int(view["hash_rate"]), view.get("block"))
