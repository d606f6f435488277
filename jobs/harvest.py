"""Harvest worked pails on each farmer's interval, save pails about to expire, and record
compensation for pails the pooler left unworked.

A harvest is a fact of the chain: a pail harvested by anyone (`harvest` needs no signature)
is closed with the reward the chain record shows, and is adopted as a Harvest row. One pass
looks at every planting that is neither harvested on chain nor compensated, reads its `Pail`
and `Block` from the chain, and decides:
- block closed, pail worked: harvest when the farmer's interval is due, the farmer is
  leaving, or the pail (or its block) would expire within the TTL guard; a harvest that
  landed as failed is rebuilt by the outbox on the next pass;
- block closed, pail never worked: the stake is lost; the pooler owes it (compensation) if
  it was told about the pail while the block was open, else nobody does (recorded as 0);
- block closed, pail gone: harvested by someone; the indexer's record will show it;
- block still open and about to expire: extend the TTL of the pail and its block.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from peewee import SQL, IntegrityError, fn
from stellar_sdk import TransactionEnvelope, scval
from stellar_sdk.operation import ExtendFootprintTTL
from stellar_sdk.soroban_rpc import GetTransactionResponse

from chain.custody import Signer
from chain import calls, storage
from chain.rpc import ChainClient, Entry
from chain.transactions import SimulationFailed, build_invocation, return_value
from config import Settings
from db.connection import database
from db.models import Compensation, Farmer, Harvest, PausedBlock, PlantAnnouncement, Planting, TxIntent
from jobs.condition_log import ConditionLog
from jobs.outbox import LIVE, Action, Outbox, SourceBusy, handles

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """What one harvest pass did."""

    harvests: list[tuple[int, int]] = field(default_factory=list)
    extensions: list[tuple[int, int]] = field(default_factory=list)
    compensations: list[tuple[int, int]] = field(default_factory=list)
    lost: list[tuple[int, int]] = field(default_factory=list)


def harvest_key(farmer_id: int, index: int) -> str:
    """The outbox idempotency key of a farmer's harvest of block `index`."""
    return f"harvest:{farmer_id}:{index}"


@dataclass
class Harvester:
    """Runs harvest passes through the outbox."""

    client: ChainClient
    outbox: Outbox
    sign: Signer
    settings: Settings
    conditions: ConditionLog = field(default_factory=lambda: ConditionLog(log))  # "will retry" logs once

    def open_plantings(self) -> list[Planting]:
        """Plantings neither harvested on chain (by anyone) nor compensated yet."""
        return list(Planting.select(Planting, Farmer).join(Farmer)
                    .where(SQL(_NOT_HARVESTED_ON_CHAIN), SQL(_NOT_COMPENSATED))
                    .order_by(Planting.block_index, Planting.farmer))

    def run_pass(self) -> PassReport:
        """Look at every open planting once and act on it."""
        report = PassReport()
        adopt_chain_harvests()
        farm = self.client.farm_state()
        if farm.paused:
            PausedBlock.note(farm.index)
        plantings = self.open_plantings()
        if not plantings:
            return report
        latest = self.client.latest_ledger().sequence
        pails = self.client.pails([(p.farmer.custodial_address, p.block_index) for p in plantings])
        blocks = {index: self.client.block(index) for index in {p.block_index for p in plantings}}
        oldest = _oldest_open_block_per_farmer(plantings)
        in_flight = {intent.idempotency_key for intent in TxIntent.select(TxIntent.idempotency_key)
                     .where(TxIntent.action == "harvest", TxIntent.status.in_(LIVE))}
        for planting in plantings:
            farmer, index = planting.farmer, planting.block_index
            if harvest_key(farmer.id, index) in in_flight:
                continue  # landed or landing; the outbox records it
            pail = pails.get((farmer.custodial_address, index))
            block = blocks[index]
            closed = index < farm.index
            try:
                if pail is None or block is None:
                    if closed and pail is None:  # harvested by someone, or expired: the record will say
                        report.lost.append((farmer.id, index))
                        log.debug("pail of farmer %s in block %s is gone; waiting for the chain record",
                                  farmer.id, index)
                    continue
                expiring = min(pail.live_until, block.live_until) - latest <= self.settings.ttl_guard_ledgers
                if closed and pail.value.zeros is None:
                    self._compensate(planting)
                    report.compensations.append((farmer.id, index))
                elif closed and (expiring or farmer.status == "leaving"
                                 or farm.index - oldest[farmer.id] >= farmer.harvest_interval_blocks):
                    self._harvest(farmer, index)
                    report.harvests.append((farmer.id, index))
                elif not closed and expiring:
                    self._extend(farmer, index, pail, block, latest)
                    report.extensions.append((farmer.id, index))
            except (SourceBusy, SimulationFailed) as exc:
                self.conditions.log(logging.INFO, (farmer.id, index), "farmer %s block %s: %s (will retry)",
                                    farmer.id, index, exc)
            else:
                self.conditions.clear((farmer.id, index))
        return report

    def _harvest(self, farmer: Farmer, index: int) -> None:
        source = farmer.custodial_address

        def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
            operation = calls.harvest(self.client.network.farm_contract, source, index)
            return build_invocation(self.client, source, sequence, operation, fee, max_time)

        action = Action(key=harvest_key(farmer.id, index), action="harvest", source=source,
                        farmer_id=farmer.id, pooler_id=farmer.pooler_id, block_index=index)
        self.outbox.send(action, build, self.sign, farmer)

    def _extend(self, farmer: Farmer, index: int, pail: Entry, block: Entry, latest: int) -> None:
        source = farmer.custodial_address
        contract = self.client.network.farm_contract
        keys = [storage.pail_ledger_key(contract, source, index), storage.block_ledger_key(contract, index)]
        extend_to = 2 * max(pail.live_until - latest, self.settings.ttl_guard_ledgers)

        def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
            return build_invocation(self.client, source, sequence, ExtendFootprintTTL(extend_to),
                                    fee, max_time, read_only=keys)

        action = Action(key=f"ttl_extend:{farmer.id}:{index}", action="ttl_extend", source=source,
                        farmer_id=farmer.id, pooler_id=farmer.pooler_id, block_index=index)
        self.outbox.send(action, build, self.sign, farmer)

    def _compensate(self, planting: Planting) -> None:
        announced = PlantAnnouncement.get_or_none(PlantAnnouncement.farmer == planting.farmer_id,
                                                  PlantAnnouncement.block_index == planting.block_index)
        if PausedBlock.get_or_none(PausedBlock.block_index == planting.block_index):
            amount, reason = 0, "the farm was paused during this block: nobody could work it"
        elif announced:
            amount, reason = planting.amount, "planted pail was not worked; the stake was lost"
        else:
            amount, reason = 0, "the pooler was not told about this pail while its block was open"
        try:
            with database.atomic():
                Compensation.create(farmer=planting.farmer_id, pooler=planting.pooler_id,
                                    block_index=planting.block_index, amount=amount, reason=reason)
        except IntegrityError:
            pass  # recorded by an earlier pass


def _oldest_open_block_per_farmer(plantings: list[Planting]) -> dict[int, int]:
    oldest: dict[int, int] = {}
    for planting in plantings:
        oldest.setdefault(planting.farmer_id, planting.block_index)
    return oldest


@handles("harvest")
def record_harvest(intent, found: GetTransactionResponse) -> None:
    """Outbox handler: a confirmed harvest becomes a Harvest with the reward it returned, once."""
    if found.status.value != "SUCCESS":
        return
    reward = scval.from_int128(return_value(found))
    (Harvest.insert(farmer=intent.farmer_id, block_index=intent.block_index, reward=reward, intent=intent.id,
                    tx_hash=intent.tx_hash, ledger=found.ledger, created_at=fn.now())
     .on_conflict_ignore().execute())


_NOT_HARVESTED_ON_CHAIN = """NOT EXISTS (SELECT 1 FROM chain_transactions c WHERE c.kind = 'harvest' AND c.successful
    AND c.farmer = t2.custodial_address AND c.block_index = t1.block_index)"""
_NOT_COMPENSATED = """NOT EXISTS (SELECT 1 FROM compensations cp WHERE cp.farmer_id = t1.farmer_id
    AND cp.block_index = t1.block_index)"""
_ADOPT = """
    INSERT INTO harvests (farmer_id, block_index, reward, tx_hash, ledger)
    SELECT f.id, c.block_index, c.reward, c.hash, c.ledger
    FROM chain_transactions c JOIN farmers f ON f.custodial_address = c.farmer
    JOIN plantings p ON p.farmer_id = f.id AND p.block_index = c.block_index
    WHERE c.kind = 'harvest' AND c.successful
      AND NOT EXISTS (SELECT 1 FROM harvests h WHERE h.farmer_id = f.id AND h.block_index = c.block_index)
    ON CONFLICT DO NOTHING"""


def adopt_chain_harvests() -> int:
    """Record harvests of pool pails that someone else sent, with the reward the chain shows."""
    return database.execute_sql(_ADOPT).rowcount
