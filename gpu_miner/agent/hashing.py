"""Hashing: one thread keeps the device busy for the current block's farmers.

Each search call covers the farmers whose best hash has the fewest zeros
(policy.pick_jobs), so every farmer gets a result and the block's total score grows
fastest. Every improvement is kept on the board (and so saved); the gaps between
calls while planted farmers are unfinished count as the device's idle time.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from gpu_miner.agent import decisions, policy
from gpu_miner.agent.board import AgentConfig, Board, BlockRun
from gpu_miner.agent.state_file import BlockWork, Found
from gpu_miner.search.searcher import Job, Searcher

MAX_CALL_SECONDS = 5.0
HOST_SECONDS_PER_FARMER = 0.002  # per call the host spends ~0.05 ms per farmer (jobs, verifying); kept well above


class Hashing:
    """Feeds the searcher and learns its hash rate."""

    def __init__(self, board: Board, searcher: Searcher, config: AgentConfig, stopping: threading.Event) -> None:
        self.board, self.searcher, self.config, self.stopping = board, searcher, config, stopping
        self.rate: float | None = None  # hashes per second, smoothed over search calls

    def jobs(self, block: BlockWork) -> dict[str, int | None]:
        """Farmers to hash for in this block, with their best zeros (lock held)."""
        run = self.board.runs[block.index]
        return decisions.hash_jobs(block, run.answered, run.mining_done, self.board.is_open(block))

    def next_search(self) -> tuple[BlockWork, BlockRun, list[str], int, int] | None:
        """The next search call: block, its run, farmers, first nonce and nonces per farmer (None: nothing to do)."""
        board = self.board
        with board.lock:
            if board.current is None or board.current not in board.runs:
                return None
            block, run = board.blocks[board.current], board.runs[board.current]
            farmers = policy.pick_jobs(self.jobs(block))
            if not farmers:
                return None
            seconds = min(max(self.config.chunk_seconds, HOST_SECONDS_PER_FARMER * len(farmers)), MAX_CALL_SECONDS)
            count = policy.nonces_per_job(self.rate, len(farmers), seconds)
            start = block.next_nonce
            block.next_nonce += count
            return block, run, farmers, start, count

    def loop(self) -> None:
        """Keep the device hashing for the current block's farmers until the agent stops."""
        last_end, last_block = 0.0, None
        known: dict[str, Job] = {}  # this block's jobs, made once per farmer
        known_for: tuple[int, str] | None = None
        while not self.stopping.is_set():
            picked = self.next_search()
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
                self.board.events.emit("error", where="search", message=str(exc)[:300], retry_in=1.0)
                self.stopping.wait(1.0)
                continue
            ended = time.monotonic()
            with self.board.lock:
                run.idle += max(began - since, 0.0)
                run.busy += ended - began
                run.hashes += count * len(jobs)
                measured = count * len(jobs) / max(ended - began, 1e-6)
                self.rate = measured if self.rate is None else 0.7 * self.rate + 0.3 * measured
                improved = self._keep_better(block, farmers, results)
            for address, best in improved:
                self.board.events.emit("improved", block=block.index, farmer=address, zeros=best.zeros,
                                       nonce=best.nonce, hash=best.hash)
            last_end, last_block = ended, block.index

    def _keep_better(self, block: BlockWork, farmers: list[str], results: list) -> list[tuple[str, Found]]:
        """Keep each result that beats the farmer's best (lock held); the improvements."""
        improved = []
        for address, result in zip(farmers, results):
            farmer = block.farmers.get(address)
            if farmer is not None and (farmer.best is None or result.zeros > farmer.best.zeros):
                farmer.best = Found(result.nonce, result.hash.hex(), result.zeros)
                improved.append((address, farmer.best))
                self.board.changed()
        return improved

    def end_blocks(self, lead: Callable[[BlockWork], int]) -> None:
        """Mark each block whose hashing is over (decisions.hashing_over)."""
        board = self.board
        with board.lock:
            for index, run in board.runs.items():
                if run.mining_done:
                    continue
                block = board.blocks[index]
                is_open = board.is_open(block)
                run.mining_done = decisions.hashing_over(
                    is_open, run.answered, board.latest.sequence,
                    board.deadline(block, self.config.margin_ledgers), lead(block) if is_open else 0)
