"""What a farmer's exit pays each party, by pail: the one computation behind the settlement,
the farmer's exit preview and the reconciliation of settlements.

A pail belongs to the pooler that requested its plant. Its reward is what the chain says the
harvest paid, whoever harvested it; its compensation is the stake of a pail the pooler was
told about in time and left unworked. Per pooler: share = floor(sum(reward x share_bps) /
10000); the compensation it owes comes off that share first (`offset`); what the share cannot
cover becomes a debt owed to this farmer (`debt`); what is left pays the pooler's older debts
to other farmers, oldest first (`debt_collected`), and the rest is the pooler's (`amount`).
The farmer gets everything else in its wallet.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peewee import fn

from db.connection import database
from db.models import DebtCollection, Farmer, Pooler, PoolerDebt

BPS = 10_000

_PAILS = """
    SELECT p.block_index, p.pooler_id, p.amount, coalesce(p.share_bps, po.share_bps), p.tx_hash,
           h.hash, h.reward, w.hash, w.zeros, w.gap, cp.amount, a.ledger
    FROM plantings p
    JOIN farmers f ON f.id = p.farmer_id
    JOIN poolers po ON po.id = p.pooler_id
    LEFT JOIN chain_transactions h ON h.kind = 'harvest' AND h.successful AND h.farmer = f.custodial_address
         AND h.block_index = p.block_index
    LEFT JOIN LATERAL (SELECT hash, zeros, gap FROM chain_transactions
                       WHERE kind = 'work' AND successful AND farmer = f.custodial_address
                         AND block_index = p.block_index
                       ORDER BY zeros DESC, ledger DESC LIMIT 1) w ON true
    LEFT JOIN compensations cp ON cp.farmer_id = p.farmer_id AND cp.block_index = p.block_index
    LEFT JOIN plant_announcements a ON a.farmer_id = p.farmer_id AND a.block_index = p.block_index
    WHERE p.farmer_id = %(farmer)s
    ORDER BY p.block_index"""


@dataclass(frozen=True)
class Pail:
    """One planted pail as the chain record and the pool's records show it."""

    block_index: int
    pooler_id: int
    stake: int
    share_bps: int
    plant_tx: str | None
    harvest_tx: str | None
    reward: int | None
    work_tx: str | None
    zeros: int | None
    gap: int | None
    compensation: int | None
    announced_ledger: int | None

    @property
    def closed(self) -> bool:
        """Harvested (by anyone), or settled as unworked."""
        return self.harvest_tx is not None or self.compensation is not None

    def as_dict(self) -> dict[str, Any]:
        return {"block_index": self.block_index, "pooler_id": self.pooler_id, "stake": self.stake,
                "share_bps": self.share_bps, "plant_tx": self.plant_tx, "worked": self.work_tx is not None,
                "zeros": self.zeros, "gap": self.gap, "work_tx": self.work_tx, "reward": self.reward,
                "harvest_tx": self.harvest_tx, "compensation": self.compensation,
                "announced_ledger": self.announced_ledger}


@dataclass
class Collection:
    """Part of a pooler's share paid to a farmer its older debt is owed to."""

    debt_id: int
    creditor_id: int
    amount: int


@dataclass
class Period:
    """One pooler's part of a farmer's exit."""

    pooler_id: int
    pooler_name: str
    payout_address: str
    pails: list[Pail] = field(default_factory=list)
    rewards: int = 0
    share: int = 0
    compensation: int = 0
    offset: int = 0
    debt: int = 0
    collections: list[Collection] = field(default_factory=list)
    amount: int = 0

    @property
    def debt_collected(self) -> int:
        return sum(c.amount for c in self.collections)

    def as_dict(self) -> dict[str, Any]:
        return {"pooler_id": self.pooler_id, "pooler_name": self.pooler_name,
                "pails": len(self.pails), "rewards": self.rewards,
                "share_bps": self.pails[-1].share_bps if self.pails else None, "share": self.share,
                "compensation_owed": self.compensation, "offset": self.offset, "debt": self.debt,
                "debt_collected": self.debt_collected, "amount": self.amount}


@dataclass
class Figures:
    """A farmer's exit, by pooler period."""

    farmer_id: int
    periods: list[Period]

    @property
    def pails(self) -> list[Pail]:
        return [pail for period in self.periods for pail in period.pails]

    @property
    def rewards(self) -> int:
        return sum(p.rewards for p in self.periods)

    @property
    def compensation(self) -> int:
        return sum(p.compensation for p in self.periods)

    @property
    def to_others(self) -> int:
        """KALE the wallet pays to poolers and to the poolers' creditors."""
        return sum(p.amount + p.debt_collected for p in self.periods)

    @property
    def open_pails(self) -> list[Pail]:
        return [pail for pail in self.pails if not pail.closed]


def pails(farmer_id: int) -> list[Pail]:
    """Every pail the pool planted for the farmer, oldest first."""
    rows = database.execute_sql(_PAILS, {"farmer": farmer_id})
    return [Pail(index, pooler, int(stake), bps, plant_tx, harvest_tx, None if reward is None else int(reward),
                 work_tx, zeros, gap, None if comp is None else int(comp), announced)
            for index, pooler, stake, bps, plant_tx, harvest_tx, reward, work_tx, zeros, gap, comp, announced
            in rows]


def outstanding_debts(pooler_id: int, exclude_creditor: int | None = None) -> list[tuple[PoolerDebt, int]]:
    """The pooler's debts not yet fully collected, oldest first, with what is still owed."""
    collected = (DebtCollection.select(DebtCollection.debt, fn.SUM(DebtCollection.amount).alias("paid"))
                 .group_by(DebtCollection.debt))
    paid = {row.debt_id: int(row.paid) for row in collected}
    debts = []
    for debt in PoolerDebt.select().where(PoolerDebt.pooler == pooler_id).order_by(PoolerDebt.id):
        owed = debt.amount - paid.get(debt.id, 0)
        if owed > 0 and debt.creditor_id != exclude_creditor:
            debts.append((debt, owed))
    return debts


def compute(farmer: Farmer) -> Figures:
    """The farmer's exit figures as of now (see the module docstring)."""
    by_pooler: dict[int, Period] = {}
    for pail in pails(farmer.id):
        period = by_pooler.get(pail.pooler_id)
        if period is None:
            pooler = Pooler.get_by_id(pail.pooler_id)
            period = by_pooler[pail.pooler_id] = Period(pooler.id, pooler.name, pooler.payout_address)
        period.pails.append(pail)
    for period in by_pooler.values():
        period.rewards = sum(p.reward or 0 for p in period.pails)
        period.share = sum((p.reward or 0) * p.share_bps for p in period.pails) // BPS
        period.compensation = sum(p.compensation or 0 for p in period.pails)
        period.offset = min(period.share, period.compensation)
        period.debt = period.compensation - period.offset
        left = period.share - period.offset
        for debt, owed in outstanding_debts(period.pooler_id, exclude_creditor=farmer.id):
            if left == 0:
                break
            take = min(left, owed)
            period.collections.append(Collection(debt.id, debt.creditor_id, take))
            left -= take
        period.amount = left
    return Figures(farmer.id, sorted(by_pooler.values(), key=lambda p: p.pooler_id))
