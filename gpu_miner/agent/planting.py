"""Following the chain and getting farmers planted.

When the chain is at a block the agent is not hashing yet, hashing for last block's
farmers starts at once (the hash does not depend on the plant), before the pool
answers. When a block needs opening or planting (decisions.plant_request), one
plant request at a time goes to the pool in the background; its answer says who
is planted.
"""
from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Callable

from chain.rpc import ChainClient
from gpu_miner.agent import decisions
from gpu_miner.agent.board import AgentConfig, AgentStopped, Board, Spawn
from gpu_miner.agent.pool_client import PlantAnswer, PoolClient, PoolRefused, PoolUnavailable
from gpu_miner.agent.state_file import BlockWork, FarmerWork


class Planting:
    """Follows the chain's blocks and asks the pool to plant this pooler's farmers."""

    def __init__(self, board: Board, client: ChainClient, pool: PoolClient, config: AgentConfig, spawn: Spawn,
                 sends_unfinished: Callable[[BlockWork], bool], wants_channels: Callable[[int], None]) -> None:
        self.board, self.client, self.pool, self.config, self.spawn = board, client, pool, config, spawn
        self.sends_unfinished, self.wants_channels = sends_unfinished, wants_channels
        self._request: Future | None = None

    def follow_chain(self) -> None:
        """When the chain is at a block the agent is not hashing yet, start on it with last block's farmers."""
        board = self.board
        index = board.farm.index
        if board.current is not None and index <= board.current:
            return
        if index not in board.blocks:
            entry = self.client.block(index)
            if entry is None:
                return
            block = BlockWork(index=index, entropy=entry.value.entropy.hex(), timestamp=entry.value.timestamp)
            previous = board.current_block()
            for address, farmer in (previous.farmers.items() if previous else []):
                if farmer.plant_ledger is not None:
                    block.farmers[address] = FarmerWork(address)
            with board.lock:
                board.blocks[index] = block
        with board.lock:
            board.make_current(index, speculative=True)

    def view(self) -> decisions.PlantView | None:
        """The current block as decisions.plant_request sees it (None: no block yet)."""
        block = self.board.current_block()
        if block is None:
            return None
        run = self.board.runs[block.index]
        if run.due_at is None and decisions.block_over(self.board.latest.close_time, block.timestamp):
            run.due_at = time.monotonic()
        over = run.due_at is not None
        return decisions.PlantView(
            index=block.index, timestamp=block.timestamp, answered=run.answered, failed=bool(run.failed),
            tries=run.plant_tries, answer_ledger=run.answer_ledger, over_since=run.due_at,
            unfinished_sends=over and self.sends_unfinished(block),
            ledgers_left=self.board.deadline(block, self.config.margin_ledgers).ledgers_left)

    def request_plant(self) -> None:
        """Ask the pool to plant when a block needs opening or planting (one request at a time)."""
        if self._request is not None or not self.board.pool_gate.ready():
            return
        latest = self.board.latest
        request = decisions.plant_request(self.view(), latest.sequence, latest.close_time, time.monotonic(),
                                          self.config.margin_ledgers)
        if request is not None:
            self._request = self.spawn(self.pool.plant_request, request.block_index)

    def collect_plant(self) -> None:
        """Take the pool's answer once it is in; a refused API key stops the agent."""
        future = self._request
        if future is None or not future.done():
            return
        self._request = None
        gate = self.board.pool_gate
        try:
            answer = future.result()
        except PoolUnavailable as exc:
            gate.failed(str(exc))
            return
        except PoolRefused as exc:
            if exc.status in (401, 403):
                raise AgentStopped(str(exc)) from None
            gate.failed(str(exc))
            return
        if answer.block is None:
            gate.failed("the pool answered without a block (the farm has none yet?)")
            return
        gate.succeeded()
        self.on_planted(answer)

    def on_planted(self, answer: PlantAnswer) -> None:
        """Record who is planted in the answered block (switching to it) and get channels for them."""
        board, opened = self.board, answer.block
        if board.current is not None and opened.index < board.current:
            board.events.emit("error", where="pool", message=f"plant answer for block {opened.index}, "
                                                             f"but the chain is at {board.current}")
            return
        with board.lock:
            block = board.blocks.get(opened.index)
            if block is None or block.entropy != opened.entropy.hex():
                block = BlockWork(index=opened.index, entropy=opened.entropy.hex(), timestamp=opened.timestamp)
                board.blocks[opened.index] = block
            if board.current != opened.index:
                board.make_current(opened.index, speculative=False)
            run = board.runs[opened.index]
            had_jobs = bool(self._jobs(block))
            for planted in answer.planted:
                if planted.block_index != opened.index:
                    continue
                farmer = block.farmers.setdefault(planted.address, FarmerWork(planted.address))
                farmer.plant_ledger, farmer.stake, farmer.farmer_id = planted.ledger, planted.stake, planted.farmer_id
            # a pending farmer's plant was sent but not yet confirmed: asking again (idempotent) learns how it went
            run.answered, run.failed = True, answer.failed + answer.pending
            run.plant_tries += 1
            run.answer_ledger = board.latest.sequence
            if not had_jobs and self._jobs(block):
                run.jobs_since = time.monotonic()
            board.changed()
            count = sum(1 for f in block.farmers.values() if f.plant_ledger is not None)
        board.events.emit("planted", block=opened.index,
                          planted=[{"farmer": p.address, "ledger": p.ledger, "stake": p.stake}
                                   for p in answer.planted],
                          failed=[{"farmer": f.get("address"), "reason": f.get("reason")} for f in answer.failed])
        self.wants_channels(count)

    def _jobs(self, block: BlockWork) -> dict[str, int | None]:
        run = self.board.runs[block.index]
        return decisions.hash_jobs(block, run.answered, run.mining_done, self.board.is_open(block))
