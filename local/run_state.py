"""What `manage.py up` watches: the pool's progress block by block, read once a second from the
database, the chain and the pooler agents' JSON event logs."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from peewee import fn

from chain.kale import BLOCK_INTERVAL
from chain.rpc import ChainClient, Ledger, RpcUnavailable, seconds_per_ledger
from config import Settings
from db.chain_models import Discrepancy
from db.models import Compensation, Farmer, Harvest, Planting, Settlement, Work
from gpu_miner.agent.policy import deadline
from jobs.settlement import waiting_for
from local.demo import Demo

RECENT_BLOCKS = 3  # the current block and the two before it, in the per-block view


@dataclass
class FarmerLine:
    """One farmer's row in the live view; planted/worked/harvested count this run's blocks, rewards all time."""

    id: int
    address: str
    status: str
    planted: int
    worked: int
    harvested: int
    rewards: int
    best_zeros: int | None
    in_block: str = "-"  # its state in the current block: planted, worked (N zeros), not planted (why)
    waits_for: str | None = None  # a leaving farmer: what its settlement waits for


@dataclass
class BlockLine:
    """One block's progress: pails planted, worked, and closed (harvested or compensated)."""

    index: int
    planted: int
    worked: int
    closed: int


@dataclass
class RunState:
    """The run `up` is driving, refreshed once a second."""

    demo: Demo | None  # the devnet's demo population; None on testnet/mainnet
    api_url: str
    client_settings: Settings
    log_dir: Path
    started: float = field(default_factory=time.time)
    first_block: int | None = None
    index: int = 0
    latest_ledger: int = 0
    protocol_version: int = 0
    ledgers_left: int | None = None
    ledgers_in_block: int = BLOCK_INTERVAL // 5  # measured once two ledgers were seen
    farmers: list[FarmerLine] = field(default_factory=list)
    recent: list[BlockLine] = field(default_factory=list)
    hash_rate_mhs: float = 0.0
    compensations: int = 0
    discrepancies: int = 0

    def __post_init__(self) -> None:
        self.client = ChainClient(self.client_settings.network)
        self._log_offsets: dict[Path, int] = {}
        self._best_zeros: dict[str, int] = {}
        self._first_ledger: Ledger | None = None  # ledger time per ledger is measured from here

    def refresh(self) -> None:
        """Read the chain, the database and new agent events."""
        try:
            farm = self.client.farm_state()
            latest = self.client.latest_ledger()
        except RpcUnavailable:
            return
        self.index, self.latest_ledger, self.protocol_version = farm.index, latest.sequence, latest.protocol_version
        if farm.farm_block is not None:  # the same projection the pooler agent sends its work by
            self._first_ledger = self._first_ledger or latest
            ledger_seconds = seconds_per_ledger(self._first_ledger, latest)
            self.ledgers_in_block = round(BLOCK_INTERVAL / ledger_seconds)
            self.ledgers_left = deadline(latest.sequence, latest.close_time, farm.farm_block.timestamp,
                                         ledger_seconds, 0).ledgers_left
        if self.first_block is None:  # this run's counts start with the block open now (block 0 too)
            self.first_block = self.index
        self._read_agent_events()
        self.read_pool()

    def read_pool(self) -> None:
        """Read the farmers, the recent blocks and the open problems from the database."""
        self.farmers = self._farmer_lines()
        self.recent = [self._block_line(index) for index in range(max(0, self.index - RECENT_BLOCKS + 1),
                                                                   self.index + 1)]
        self.compensations = Compensation.select().count()
        self.discrepancies = open_discrepancies()

    def _farmer_lines(self) -> list[FarmerLine]:
        since = self.first_block or 0
        counted = {model: _per_farmer(model.select(model.farmer, fn.COUNT(model.id))
                                      .where(model.block_index >= since).group_by(model.farmer))
                   for model in (Planting, Work, Harvest)}
        rewards = _per_farmer(Harvest.select(Harvest.farmer, fn.SUM(Harvest.reward)).group_by(Harvest.farmer))
        planted_now = {farmer_id for farmer_id, in Planting.select(Planting.farmer)
                       .where(Planting.block_index == self.index).tuples()}
        worked_now = _per_farmer(Work.select(Work.farmer, fn.MAX(Work.zeros))
                                 .where(Work.block_index == self.index).group_by(Work.farmer))
        lines = []
        for farmer in Farmer.select().order_by(Farmer.id):
            line = FarmerLine(farmer.id, farmer.custodial_address, farmer.status,
                              *(counted[model].get(farmer.id, 0) for model in (Planting, Work, Harvest)),
                              int(rewards.get(farmer.id, 0)), self._best_zeros.get(farmer.custodial_address))
            if farmer.id in worked_now:
                line.in_block = f"worked ({worked_now[farmer.id]} zeros)"
            elif farmer.id in planted_now:
                line.in_block = "planted, hashing"
            elif farmer.status in ("leaving", "departed"):
                line.in_block = f"not planted ({farmer.status})"
            elif farmer.status == "active":
                line.in_block = f"not planted ({farmer.plant_problem})" if farmer.plant_problem else "not planted"
            if farmer.status == "leaving":
                line.waits_for = waits_for(farmer)
            lines.append(line)
        return lines

    def _block_line(self, index: int) -> BlockLine:
        count = lambda model: model.select().where(model.block_index == index).count()  # noqa: E731
        return BlockLine(index, count(Planting), count(Work), count(Harvest) + count(Compensation))

    def _read_agent_events(self) -> None:
        for path in sorted(self.log_dir.glob("pooler-*.log")):
            with open(path, "rb") as handle:
                handle.seek(self._log_offsets.get(path, 0))
                data = handle.read()
                self._log_offsets[path] = handle.tell()
            for line in data.decode(errors="replace").splitlines():
                self._take_event(line)

    def _take_event(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        rate = event.get("hash_rate")  # hashes per second
        if isinstance(rate, (int, float)) and rate > 0:
            self.hash_rate_mhs = rate / 1e6
        farmer, zeros = event.get("farmer"), event.get("zeros")
        if isinstance(farmer, str) and isinstance(zeros, int):
            self._best_zeros[farmer] = max(zeros, self._best_zeros.get(farmer, 0))


def waits_for(farmer: Farmer) -> str:
    """What a leaving farmer's settlement waits for, in words (the settler's own reason first)."""
    settlement = Settlement.get_or_none(Settlement.farmer == farmer.id)
    if settlement is None:  # the settler's check reads only the database, never its chain client
        reason = waiting_for(farmer)
        return reason or "the scheduler's next settlement pass"
    if settlement.status in ("pending", "paying"):
        return "its payout to land" + (f" (last try: {settlement.last_error})" if settlement.last_error else "")
    if settlement.status == "closing":
        return "its claimable balances to be claimed, then the wallet closes"
    return f"settlement {settlement.status}"


def open_discrepancies() -> int:
    """Discrepancies the reconciliation found and nobody resolved yet."""
    return Discrepancy.select().where(Discrepancy.resolved_at.is_null()).count()


def _per_farmer(query) -> dict[int, int]:
    return {farmer_id: value for farmer_id, value in query.tuples()}
