"""The pooler agent's coordinator: wires its parts and runs the control loop.

The agent follows the chain's KALE blocks, gets farmers planted, hashes for them and sends their work.

Per block (ledger time, never the wall clock):
1. planting.py: a block needs opening (the latest ledger closed at or after T + 300,
   or the chain is at an index the agent has not planted): POST plant-request. If
   the chain already shows the new block, hashing for last block's farmers starts
   at once, before the pool answers.
2. hashing.py: one thread keeps the device busy, fewest zeros first; every
   improvement is saved to the state file (state_file.py).
3. sending.py and settling.py: work is sent from channel accounts so that it lands
   `margin` ledgers before the last ledger expected to close before T + 300; a
   clearly better hash is resubmitted while it can still land in time; each sent
   work is resolved from the chain, resent while missing, and the fee raised when
   the network asks more.
4. reporting.py: landed works are reported to work-complete; then the next block.
The decisions are pure functions (policy.py for timing, decisions.py for blocks and
farmers); board.py holds what the parts share.

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

import threading
from typing import Any

from stellar_sdk import Keypair

from chain.rpc import ChainClient
from gpu_miner.agent import policy
from gpu_miner.agent.board import AgentConfig, AgentStopped, Board, Events, Spawn, background
from gpu_miner.agent.channels import Channels
from gpu_miner.agent.hashing import Hashing
from gpu_miner.agent.planting import Planting
from gpu_miner.agent.pool_client import PoolClient
from gpu_miner.agent.reporting import Reporting
from gpu_miner.agent.sending import Sending
from gpu_miner.agent.settling import TRANSIENT, Settling
from gpu_miner.agent.state_file import StateFile
from gpu_miner.search.searcher import Searcher


class Agent:
    """One pooler's agent: a control loop (this thread) and a hashing thread sharing a board."""

    def __init__(self, client: ChainClient, pool: PoolClient, searcher: Searcher, pooler: Keypair,
                 channels: Channels, state: StateFile, events: Events, config: AgentConfig = AgentConfig(),
                 spawn: Spawn = background) -> None:
        self.client, self.searcher, self.config = client, searcher, config
        self.board = board = Board(pooler.public_key, state, events)
        self.stopping = threading.Event()
        self.settling = Settling(board, client, channels, config, spawn)
        self.sending = Sending(board, client, channels, self.settling, config, spawn)
        self.planting = Planting(board, client, pool, config, spawn, self.sending.unfinished,
                                 self.sending.ensure_channels)
        self.hashing = Hashing(board, searcher, config, self.stopping)
        self.reporting = Reporting(board, pool, self.settling, config, spawn, lambda: self.hashing.rate)
        self._restored = False
        self._backoff = policy.Backoff()

    def run(self) -> None:
        """Work blocks until `stop()`, a fatal error, or `config.max_blocks` blocks are done."""
        board = self.board
        board.blocks = board.state.load(board.pooler)
        board.events.emit("started", pooler=board.pooler, network=self.client.network.name,
                          device=self.searcher.description, state_file=str(board.state.path),
                          restored=sorted(board.blocks))
        hashing = threading.Thread(target=self.hashing.loop, name="hashing", daemon=True)
        hashing.start()
        reason = "stopped"
        try:
            while not self.stopping.is_set():
                try:
                    self.tick()
                    self._backoff.reset()
                except AgentStopped:
                    raise
                except Exception as exc:  # RPC down, or a garbled answer: say it, back off, never crash-loop
                    delay = self._backoff.next_delay()
                    where, message = ("rpc", str(exc)) if isinstance(exc, TRANSIENT) else \
                        ("agent", f"{type(exc).__name__}: {exc}")
                    board.events.emit("error", where=where, message=message[:300], retry_in=delay)
                    self.stopping.wait(delay)
                    continue
                done = self.reporting.blocks_done
                if self.config.max_blocks is not None and done >= self.config.max_blocks:
                    reason = f"{done} blocks done"
                    break
                self.stopping.wait(min(max(board.clock.wall_seconds / 4, 0.02), 1.0))
        except AgentStopped as exc:
            reason = str(exc)
            raise
        finally:
            self.stopping.set()
            hashing.join(timeout=10)
            board.save()
            board.events.emit("stopped", reason=reason)

    def stop(self) -> None:
        self.stopping.set()

    def tick(self) -> None:
        """One pass of the control loop: read the chain, then let each part act on what changed."""
        board = self.board
        latest = self.client.latest_ledger()
        new_ledger = board.clock.observe(latest.sequence, latest.close_time)
        if new_ledger or board.farm is None:
            board.farm = self.client.farm_state()
        board.latest = latest
        if not self._restored:
            self.restore()
        self.planting.collect_plant()
        self.sending.collect_channels()
        if self.settling.top_up:
            self.sending.ensure_channels(self.sending.channels.count)
        self.planting.follow_chain()
        self.planting.request_plant()
        if new_ledger:
            self.settling.resolve_pending()
        self.sending.submit_due()
        self.hashing.end_blocks(self.sending.lead)
        self.reporting.report_and_finish()
        if board.dirty:
            board.save()
        self.reporting.show_status()

    def restore(self) -> None:
        """After a (re)start: re-verify saved nonces, hold busy channels, pick up the open block."""
        self.board.restore_runs()
        self.sending.restore()
        self._restored = True

    def snapshot(self) -> dict[str, Any]:
        """The live status (see Reporting.snapshot)."""
        return self.reporting.snapshot()
