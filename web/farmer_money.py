"""A farmer's money as the chain record shows it: wallet balances, KALE staked in open pails,
rewards and compensations per pooler period, and what an exit would pay each party today."""
from __future__ import annotations

from typing import Any

from db.chain_models import IndexerCursor
from db.custody_ledger import wallet_balance
from db.models import Farmer
from db.settlement_figures import compute


def money_view(farmer: Farmer) -> dict[str, Any]:
    """Balances, rewards per pooler and the exit preview, from the chain-derived records."""
    cursor = IndexerCursor.get_or_none(IndexerCursor.scope == "pool")
    figures = compute(farmer)
    kale = wallet_balance(farmer.custodial_address, "KALE")
    xlm = wallet_balance(farmer.custodial_address, "XLM")
    return {
        "balances": {"kale": kale, "xlm": xlm, "staked": sum(p.stake for p in figures.open_pails),
                     "as_of_ledger": None if cursor is None else cursor.ledger},
        "rewards_by_pooler": [period.as_dict() for period in figures.periods],
        "compensations": figures.compensation,
        "exit_preview": {
            "poolers": [{"pooler_id": p.pooler_id, "amount": p.amount} for p in figures.periods],
            "creditors": [{"debt_id": c.debt_id, "farmer_id": c.creditor_id, "amount": c.amount}
                          for p in figures.periods for c in p.collections],
            "farmer_kale": max(kale - figures.to_others, 0),
            "farmer_xlm": xlm,
        },
    }
