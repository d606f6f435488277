"""What `manage.py up` shows and checks: the pool's progress block by block, from the database,
the chain and the pooler agents' JSON event logs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from peewee import fn

from chain.kale import BLOCK_INTERVAL
from chain.rpc import ChainClient, Ledger, RpcUnavailable, seconds_per_ledger
from config import Settings
from db.chain_models import Discrepancy
from db.models import Compensation, Farmer, Harvest, Planting, Settlement, Work
from jobs.demo import Demo
from chain.amounts import format_stroops
from jobs.supervisor import MANAGE


@dataclass
class FarmerLine:
    """One farmer's row in the live view."""

    id: int
    address: str
    status: str
    planted: int
    worked: int
    harvested: int
    rewards: int
    best_zeros: int | None


@dataclass
class RunState:
    """The run `up` is driving, refreshed once a second."""

    demo: Demo | None  # the devnet's demo population; None on testnet/mainnet
    api_url: str
    client_settings: Settings
    log_dir: Path
    blocks: int | None
    started: float = field(default_factory=time.time)
    first_block: int | None = None
    index: int = 0
    latest_ledger: int = 0
    protocol_version: int = 0
    ledgers_left: int | None = None
    farmers: list[FarmerLine] = field(default_factory=list)
    hash_rate_mhs: float = 0.0
    compensations: int = 0
    discrepancies: int = 0
    exit_requested: bool = False

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
        if farm.farm_block is not None:
            seconds_left = farm.farm_block.timestamp + BLOCK_INTERVAL - latest.close_time
            self._first_ledger = self._first_ledger or latest
            self.ledgers_left = max(0, int(seconds_left // seconds_per_ledger(self._first_ledger, latest)))
        if self.first_block is None:
            self.first_block = self.index + 1
        self._read_agent_events()
        self.farmers = [self._farmer_line(f.id) for f in Farmer.select(Farmer.id).order_by(Farmer.id)]
        self.compensations = Compensation.select().count()
        self.discrepancies = _open_discrepancies()

    def _farmer_line(self, farmer_id: int) -> FarmerLine:
        farmer = Farmer.get_by_id(farmer_id)
        since = self.first_block or 0
        count = lambda model: model.select().where(model.farmer == farmer_id, model.block_index >= since).count()  # noqa: E731
        rewards = (Harvest.select(fn.COALESCE(fn.SUM(Harvest.reward), 0))
                   .where(Harvest.farmer == farmer_id).scalar())
        return FarmerLine(farmer_id, farmer.custodial_address, farmer.status, count(Planting), count(Work),
                          count(Harvest), int(rewards), self._best_zeros.get(farmer.custodial_address))

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

    # -- the --blocks run ------------------------------------------------------------------

    def run_blocks(self) -> list[int]:
        """Blocks this run planted that are closed."""
        if self.first_block is None:
            return []
        return [row.block_index for row in Planting.select(Planting.block_index).distinct()
                .where(Planting.block_index >= self.first_block, Planting.block_index < self.index)
                .order_by(Planting.block_index)]

    def exit_first_farmer_after_first_block(self) -> None:
        """Once the run's first block is closed, the first demo farmer asks to leave."""
        if self.exit_requested or self.demo is None or not self.run_blocks():
            return
        farmer = self.demo.farmers[0]
        try:
            response = requests.post(f"{self.api_url}/api/v1/farmers/me/exit", json={}, timeout=30,
                                     headers={"Authorization": f"Bearer {farmer.token}"})
        except requests.RequestException:
            return  # the API is restarting; ask again on the next round
        self.exit_requested = response.status_code in (202, 409)

    def _blocks_settled(self) -> list[int]:
        done = []
        for index in self.run_blocks()[: self.blocks]:
            plantings = Planting.select().where(Planting.block_index == index)
            harvested = Harvest.select().where(Harvest.block_index == index).count()
            compensated = Compensation.select().where(Compensation.block_index == index).count()
            if harvested + compensated == plantings.count():
                done.append(index)
        return done

    def finished(self) -> bool:
        """N blocks planted, worked and harvested, and the exiting farmer has departed."""
        if self.demo is None:
            return False
        leaving = Farmer.get_by_id(self.demo.farmers[0].id)
        return len(self._blocks_settled()) >= (self.blocks or 0) and leaving.status == "departed"

    def summary(self) -> dict[str, Any]:
        """The final JSON line of a --blocks run; `ok` decides the exit status."""
        indexes = self._blocks_settled()[: self.blocks]
        plantings = Planting.select().where(Planting.block_index.in_(indexes))
        worked = Work.select().where(Work.block_index.in_(indexes)).count()
        harvests = list(Harvest.select().where(Harvest.block_index.in_(indexes)))
        stakes = {(p.farmer_id, p.block_index): p.amount for p in plantings}
        minted = sum(h.reward + stakes.get((h.farmer_id, h.block_index), 0) for h in harvests)
        settlements = Settlement.select().where(Settlement.status == "done").count()
        audit = subprocess.run([sys.executable, str(MANAGE), "audit"], capture_output=True, text=True,
                               env={**os.environ, "KALEPOOL_RPC_URL": self.client_settings.rpc_url,
                                    "DATABASE_URL": self.client_settings.database_url,
                                    "KALEPOOL_STATE_DIR": str(self.client_settings.state_dir)})
        if audit.returncode != 0:
            print(f"audit failed (exit {audit.returncode}):\n{audit.stdout[-2000:]}{audit.stderr[-2000:]}",
                  file=sys.stderr)
        summary = {
            "blocks": len(indexes), "farmers": Farmer.select().count(), "planted": plantings.count(),
            "worked": worked, "harvested": len(harvests), "settlements": settlements,
            "discrepancies": _open_discrepancies(), "kale_minted": minted,
            "hash_rate_mhs": round(self.hash_rate_mhs, 3),
        }
        summary["ok"] = (summary["planted"] == summary["worked"] == summary["harvested"] > 0
                         and settlements >= 1 and summary["discrepancies"] == 0 and audit.returncode == 0)
        return summary


def _open_discrepancies() -> int:
    return Discrepancy.select().where(Discrepancy.resolved_at.is_null()).count()


class Dashboard:
    """Draws the run: a redrawn screen on a terminal, a status line every few seconds otherwise."""

    def __init__(self, run: RunState, interactive: bool):
        self.run = run
        self.interactive = interactive
        self._last_line = 0.0

    def draw(self) -> None:
        if self.interactive:
            sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(self.lines()) + "\n")
            sys.stdout.flush()
        elif time.monotonic() - self._last_line >= 5:
            self._last_line = time.monotonic()
            run = self.run
            print(f"block {run.index} ledger {run.latest_ledger} ({run.ledgers_left} left, "
                  f"protocol {run.protocol_version}) | "
                  f"planted {sum(f.planted for f in run.farmers)} worked {sum(f.worked for f in run.farmers)} "
                  f"harvested {sum(f.harvested for f in run.farmers)} | {run.hash_rate_mhs:.2f} MH/s | "
                  f"discrepancies {run.discrepancies}", file=sys.stderr, flush=True)

    def lines(self) -> list[str]:
        run = self.run
        lines = [
            f"kalepool up — API {run.api_url}   (Ctrl-C stops everything; logs in {run.log_dir})",
            f"block {run.index}   ledger {run.latest_ledger}   ledgers left ~{run.ledgers_left}   "
            f"protocol {run.protocol_version}   "
            f"hash rate {run.hash_rate_mhs:.2f} MH/s   compensations {run.compensations}   "
            f"discrepancies {run.discrepancies}",
            "",
            f"{'farmer':>6}  {'address':<14} {'status':<16} {'planted':>7} {'worked':>6} {'harvested':>9} "
            f"{'best zeros':>10} {'rewards (KALE)':>16}",
        ]
        for farmer in run.farmers:
            zeros = "-" if farmer.best_zeros is None else str(farmer.best_zeros)
            lines.append(f"{farmer.id:>6}  {farmer.address[:12] + '..':<14} {farmer.status:<16} {farmer.planted:>7} "
                         f"{farmer.worked:>6} {farmer.harvested:>9} {zeros:>10} "
                         f"{format_stroops(farmer.rewards):>16}")
        return lines
