"""The settlement statement: per pooler period every pail, its reward and compensation; the
split; the pooler's debts created and collected; and every payout attempt with what it moved.
Its figures add up to what moved on chain: the payouts of the landed attempt sum to the wallet
balance at payout (KALE) and everything the wallet held (XLM)."""
from __future__ import annotations

import csv
import io
from typing import Any

from db.attempts import TxAttempt
from db.chain_models import ChainTransaction
from db.models import DebtCollection, Farmer, Payout, PoolerDebt, Settlement, SettlementPeriod, TxIntent
from db.settlement_figures import pails
from db.sponsored_fees import sponsored_fees_total

CSV_COLUMNS = ("section", "pooler_id", "block_index", "stake", "reward", "compensation", "recipient",
               "destination", "asset", "amount", "form", "attempt", "tx_hash", "ledger", "status")


def settlement_statement(farmer: Farmer) -> dict[str, Any] | None:
    """The farmer's settlement statement, or None before it has one."""
    settlement = Settlement.get_or_none(Settlement.farmer == farmer.id)
    if settlement is None:
        return None
    by_pooler: dict[int, list[dict[str, Any]]] = {}
    for pail in pails(farmer.id):
        by_pooler.setdefault(pail.pooler_id, []).append(pail.as_dict())
    periods = [{"pooler_id": p.pooler_id, "pooler_name": p.pooler.name, "pails": by_pooler.get(p.pooler_id, []),
                "rewards": p.rewards, "share": p.share, "compensation": p.compensation, "offset": p.offset_amount,
                "debt": p.debt, "debt_collected": p.debt_collected, "amount": p.amount}
               for p in SettlementPeriod.select().where(SettlementPeriod.settlement == settlement.id)
               .order_by(SettlementPeriod.pooler)]
    payouts = [{"recipient": p.recipient, "pooler_id": p.pooler_id, "debt_id": p.debt_id,
                "destination": p.destination, "asset": p.asset, "amount": p.amount, "form": p.form,
                "attempt": p.attempt, "status": p.status, "tx_hash": p.tx_hash, "ledger": p.ledger}
               for p in Payout.select().where(Payout.settlement == settlement.id).order_by(Payout.id)]
    return {
        "settlement_id": settlement.id, "farmer_id": farmer.id, "status": settlement.status,
        "rewards_earned": settlement.rewards_earned, "compensation_owed": settlement.compensation_amount,
        "pooler_share": settlement.pooler_share, "pooler_debt": settlement.pooler_debt,
        "debt_collected": settlement.debt_collected, "wallet_balance": settlement.wallet_balance,
        "pooler_amount": settlement.pooler_amount, "farmer_amount": settlement.farmer_amount,
        "periods": periods,
        "debts_created": [{"debt_id": d.id, "pooler_id": d.pooler_id, "amount": d.amount}
                          for d in PoolerDebt.select().where(PoolerDebt.settlement == settlement.id)],
        "debts_collected": [{"debt_id": c.debt_id, "creditor_id": c.debt.creditor_id, "amount": c.amount}
                            for c in DebtCollection.select(DebtCollection, PoolerDebt).join(PoolerDebt)
                            .where(DebtCollection.settlement == settlement.id)],
        "payouts": payouts,
        "sponsored_fees": sponsored_fees_total(farmer.id, before=_payout_hashes(settlement)),
        "sponsored_fees_charged": sum(p["amount"] for p in payouts if p["recipient"] == "sponsor"),
        "attempts": _attempts(settlement),
        "last_error": settlement.last_error,
    }


def _payout_hashes(settlement: Settlement) -> list[str]:
    """The landed payout and close transactions: their own fees were not known when they were built."""
    return [row.tx_hash for row in TxIntent.select(TxIntent.tx_hash)
            .where(TxIntent.settlement == settlement.id, TxIntent.status == "success")]


def _attempts(settlement: Settlement) -> list[dict[str, Any]]:
    """Every payout and close envelope ever signed for the settlement, with its fate on chain."""
    rows = (TxAttempt.select(TxAttempt, TxIntent).join(TxIntent)
            .where(TxIntent.settlement == settlement.id).order_by(TxAttempt.id))
    hashes = [row.tx_hash for row in rows]
    landed = {c.hash: c for c in ChainTransaction.select().where(ChainTransaction.hash.in_(hashes))}
    result = []
    for row in rows:
        chain = landed.get(row.tx_hash)
        result.append({"action": row.intent.action, "attempt": row.attempt, "tx_hash": row.tx_hash,
                       "ledger": chain.ledger if chain else None,
                       "outcome": ("not in the chain record" if chain is None else "success" if chain.successful
                                   else f"failed: {chain.result_code}")})
    return result


def settlement_statement_csv(found: dict[str, Any]) -> str:
    """The statement as CSV: one row per pail, then one per payout."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for period in found["periods"]:
        for pail in period["pails"]:
            writer.writerow({"section": "pail", "pooler_id": period["pooler_id"], **pail})
        writer.writerow({"section": "period", "pooler_id": period["pooler_id"], "reward": period["rewards"],
                         "compensation": period["compensation"], "amount": period["amount"]})
    for payout in found["payouts"]:
        writer.writerow({"section": "payout", **payout})
    return buffer.getvalue()
