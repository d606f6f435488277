"""The acceptance check of `manage.py up --blocks N`: N blocks planted, worked and harvested, one
farmer that asked to leave after the first is settled, and `manage.py audit` finds nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import requests

from db.models import Compensation, Farmer, Harvest, Planting, Settlement, Work
from local.run_state import RunState, open_discrepancies
from local.supervisor import MANAGE


@dataclass
class BlocksRun:
    """Drives and judges a --blocks run from the state `up` refreshes."""

    run: RunState
    blocks: int
    exit_requested: bool = False

    def run_blocks(self) -> list[int]:
        """Blocks wholly within this run (opened after it began) that were planted and are closed."""
        run = self.run
        if run.first_block is None:
            return []
        return [row.block_index for row in Planting.select(Planting.block_index).distinct()
                .where(Planting.block_index > run.first_block, Planting.block_index < run.index)
                .order_by(Planting.block_index)]

    def exit_first_farmer_after_first_block(self) -> None:
        """Once the run's first block is closed, the first demo farmer asks to leave."""
        demo = self.run.demo
        if self.exit_requested or demo is None or not self.run_blocks():
            return
        try:
            response = requests.post(f"{self.run.api_url}/api/v1/farmers/me/exit", json={}, timeout=30,
                                     headers={"Authorization": f"Bearer {demo.farmers[0].token}"})
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
        if self.run.demo is None:
            return False
        leaving = Farmer.get_by_id(self.run.demo.farmers[0].id)
        return len(self._blocks_settled()) >= self.blocks and leaving.status == "departed"

    def summary(self) -> dict[str, Any]:
        """The final JSON line of a --blocks run; `ok` decides the exit status."""
        settings = self.run.client_settings
        indexes = self._blocks_settled()[: self.blocks]
        plantings = Planting.select().where(Planting.block_index.in_(indexes))
        worked = Work.select().where(Work.block_index.in_(indexes)).count()
        harvests = list(Harvest.select().where(Harvest.block_index.in_(indexes)))
        stakes = {(p.farmer_id, p.block_index): p.amount for p in plantings}
        minted = sum(h.reward + stakes.get((h.farmer_id, h.block_index), 0) for h in harvests)
        settlements = Settlement.select().where(Settlement.status == "done").count()
        audit = subprocess.run([sys.executable, str(MANAGE), "audit"], capture_output=True, text=True,
                               env={**os.environ, "KALEPOOL_RPC_URL": settings.rpc_url,
                                    "DATABASE_URL": settings.database_url,
                                    "KALEPOOL_STATE_DIR": str(settings.state_dir)})
        if audit.returncode != 0:
            print(f"audit failed (exit {audit.returncode}):\n{audit.stdout[-2000:]}{audit.stderr[-2000:]}",
                  file=sys.stderr)
        summary = {
            "blocks": len(indexes), "farmers": Farmer.select().count(), "planted": plantings.count(),
            "worked": worked, "harvested": len(harvests), "settlements": settlements,
            "discrepancies": open_discrepancies(), "kale_minted": minted,
            "hash_rate_mhs": round(self.run.hash_rate_mhs, 3),
        }
        summary["ok"] = (summary["planted"] == summary["worked"] == summary["harvested"] > 0
                         and settlements >= 1 and summary["discrepancies"] == 0 and audit.returncode == 0)
        return summary
