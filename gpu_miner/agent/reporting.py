"""Reporting: landed works go to the pool's work-complete, finished blocks are summed up and forgotten, the
live status goes to the terminal view (or JSON lines), and the hash rate to the pool every REPORT_SECONDS."""
from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from typing import Any, Callable

from gpu_miner.agent import decisions
from gpu_miner.agent.board import AgentConfig, Board, BlockRun, Spawn
from gpu_miner.agent.pool_client import PoolClient, PoolRefused, PoolUnavailable
from gpu_miner.agent.settling import Settling
from gpu_miner.agent.state_file import BlockWork, FarmerWork

REPORT_SECONDS = 30.0  # how often the agent tells the pool its hash rate
AGENT_NAME = re.sub(r"[^A-Za-z0-9._:-]", "-", socket.gethostname())[:64] or "agent"


class Reporting:
    """Tells the pool what landed, sums up done blocks, and shows the live status."""

    def __init__(self, board: Board, pool: PoolClient, settling: Settling, config: AgentConfig, spawn: Spawn,
                 rate: Callable[[], float | None]) -> None:
        self.board, self.pool, self.settling, self.config, self.spawn = board, pool, settling, config, spawn
        self.rate = rate
        self.blocks_done = 0
        self._status_at = 0.0
        self._reported_at = -REPORT_SECONDS

    def report_and_finish(self) -> None:
        """Report landed works of blocks whose hashing is over; close out blocks the chain has left."""
        board = self.board
        for index in sorted(board.blocks):
            block, run = board.blocks[index], board.runs.get(index)
            if run is None or run.done or not run.mining_done or run.reporting or self.settling.busy(block):
                continue
            with board.lock:
                items = [f for f in block.farmers.values() if f.landed is not None and not f.reported]
            if items:
                if board.pool_gate.ready():
                    run.reporting = True
                    self.spawn(self.report, block, run, items)
                continue
            if index < board.farm.index:
                self.finish(block, run)

    def report(self, block: BlockWork, run: BlockRun, farmers: list[FarmerWork]) -> None:
        """Send the landed works to work-complete; the pool checks each and says which it accepts."""
        results = [{"farmer": f.address, "block_index": block.index, "nonce": f.landed.nonce,
                    "hash": f.landed.hash, "tx_hash": f.landed.tx_hash} for f in farmers]
        try:
            answer = self.pool.work_complete(results)
        except PoolUnavailable as exc:
            self.board.pool_gate.failed(str(exc))
            return
        except PoolRefused as exc:
            answer = {"accepted": [], "rejected": [{"farmer": f.address, "block_index": block.index,
                                                    "reason": str(exc)} for f in farmers]}
        finally:
            run.reporting = False
        with self.board.lock:
            for farmer in farmers:
                farmer.reported = True
            self.board.changed()
        self.board.pool_gate.succeeded()
        self.board.events.emit("reported", block=block.index, **answer)

    def finish(self, block: BlockWork, run: BlockRun) -> None:
        """The chain has moved past this block and everything is reported: sum it up, forget old blocks."""
        board = self.board
        run.done = True
        planted = [f for f in block.farmers.values() if f.plant_ledger is not None]
        if planted:  # a block the agent only watched (nobody planted) is not one it worked
            unworked = [f.address for f in planted if f.landed is None]
            wall = (run.closed_at or time.monotonic()) - run.seen_at
            board.events.emit("block_done", block=block.index, farmers=len(planted),
                              worked=len(planted) - len(unworked), unworked=unworked, hashes=run.hashes,
                              busy_seconds=round(run.busy, 3), idle_seconds=round(run.idle, 3),
                              wall_seconds=round(wall, 3),
                              idle_fraction=round(run.idle / wall, 5) if wall > 0 else 0.0)
            self.blocks_done += 1
        with board.lock:
            for index in decisions.forgotten(list(board.blocks), board.farm.index, self.config.keep_blocks):
                if board.runs.get(index) is None or board.runs[index].done:
                    del board.blocks[index]
                    board.runs.pop(index, None)
            self.settling.forget()
            board.changed()

    def snapshot(self) -> dict[str, Any]:
        """The live status: block, ledgers left, farmers with best and sent zeros, hash rate, idle share."""
        board = self.board
        with board.lock:
            view: dict[str, Any] = {"block": board.current,
                                    "ledger": board.latest.sequence if board.latest else None,
                                    "hash_rate": round(self.rate() or 0.0)}
            block = board.current_block()
            if block is None or board.latest is None:
                return view
            run, limit = board.runs[block.index], board.deadline(block, self.config.margin_ledgers)
            wall = time.monotonic() - run.seen_at
            view.update(ledgers_left=limit.ledgers_left, target=limit.target,
                        idle=round(run.idle / wall, 5) if wall > 0 else 0.0,
                        farmers={address: {"best": farmer.best.zeros if farmer.best else None,
                                           "sent": farmer.sent_zeros, "state": decisions.farmer_state(farmer)}
                                 for address, farmer in block.farmers.items()})
            return view

    def show_status(self) -> None:
        """Show the status every `status_seconds`; tell the pool the hash rate every REPORT_SECONDS."""
        now = time.monotonic()
        if now - self._status_at >= self.config.status_seconds:
            self._status_at = now
            view = self.snapshot()
            self.board.events.show(view)
            if now - self._reported_at >= REPORT_SECONDS:
                self._reported_at = now
                threading.Thread(target=self.report_status, args=(view,), daemon=True).start()

    def report_status(self, view: dict[str, Any]) -> None:
        """Tell the pool this agent's hash rate (the pooler's console shows it); never in the loop's way.
        Best effort: a report the pool does not get is replaced by the next one."""
        with contextlib.suppress(PoolUnavailable, PoolRefused):
            self.pool.report_status(AGENT_NAME, int(view["hash_rate"]), view.get("block"))
