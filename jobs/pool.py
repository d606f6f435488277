"""The pool's working parts, wired once from settings: chain client, custody, outbox and jobs."""
from __future__ import annotations

from dataclasses import dataclass

from chain.custody import Custody
from chain.rpc import ChainClient
from config import Settings
from jobs.harvest import Harvester
from jobs.outbox import Outbox
from jobs.plant import Planter
from jobs.settlement import Settler


@dataclass
class Pool:
    """Everything that moves money, sharing one outbox."""

    settings: Settings
    client: ChainClient
    custody: Custody
    outbox: Outbox
    planter: Planter
    harvester: Harvester
    settler: Settler


def build_pool(settings: Settings, custody: Custody | None = None, client: ChainClient | None = None) -> Pool:
    """Wire the pool for `settings` (the database must already be initialised)."""
    client = client or ChainClient(settings.network)
    custody = custody or Custody.from_settings(settings)
    outbox = Outbox(client, settings)
    sign = custody.sign_transaction
    harvester = Harvester(client, outbox, sign, settings)
    return Pool(settings=settings, client=client, custody=custody, outbox=outbox,
                planter=Planter(client, outbox, sign, settings.plant_fee_reserve_stroops),
                harvester=harvester,
                settler=Settler(client, outbox, sign))
