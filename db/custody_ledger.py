"""Reading the custody ledger (table custody_entries, written by the indexer): a wallet's
balance, its entries with running balances, rewards by the pooler that earned them, and the
movements nobody explained. Settlement, the API and the audit read money from here."""
from __future__ import annotations

from typing import Any

from db.connection import database
from db.custody_models import ASSETS

_LAST = 2**62
_BALANCE = """
    SELECT coalesce(sum(amount), 0) FROM custody_entries
    WHERE account = %(address)s AND asset = %(asset)s AND ledger <= %(last)s"""
_BALANCES_BEFORE = """
    SELECT asset, coalesce(sum(amount), 0) FROM custody_entries
    WHERE account = %(address)s AND ledger < %(first)s GROUP BY asset"""
_ENTRIES = """
    SELECT id, ledger, position, tx_hash, movement_id, asset, amount, class, block_index, pooler_id,
           counterparty, farmer_id
    FROM custody_entries
    WHERE account = %(address)s AND ledger BETWEEN %(first)s AND %(last)s
    ORDER BY ledger, position, id"""
_REWARDS = """
    SELECT pooler_id, count(DISTINCT block_index),
           coalesce(sum(amount) FILTER (WHERE class = 'reward'), 0),
           coalesce(sum(amount) FILTER (WHERE class = 'stake_returned'), 0)
    FROM custody_entries
    WHERE account = %(address)s AND class IN ('reward', 'stake_returned')
    GROUP BY pooler_id"""
ENTRY_COLUMNS = ("id", "ledger", "position", "tx_hash", "movement_id", "asset", "amount", "class", "block_index",
                 "pooler_id", "counterparty", "farmer_id")


def _check_asset(asset: str) -> None:
    if asset not in ASSETS:
        raise ValueError(f"asset must be one of {', '.join(ASSETS)}, not {asset!r}")


def wallet_balance(address: str, asset: str, through_ledger: int | None = None) -> int:
    """The wallet's `asset` balance in stroops after ledger `through_ledger` (all stored by default)."""
    _check_asset(asset)
    last = _LAST if through_ledger is None else through_ledger
    return int(database.execute_sql(_BALANCE, {"address": address, "asset": asset, "last": last}).fetchone()[0])


def entries(address: str, from_ledger: int | None = None, to_ledger: int | None = None) -> list[dict[str, Any]]:
    """The wallet's entries in ledgers from_ledger..to_ledger, in chain order, each with the
    wallet's `balance` of that asset after it (counting everything before from_ledger)."""
    first = from_ledger or 0
    params = {"address": address, "first": first, "last": _LAST if to_ledger is None else to_ledger}
    balances = {asset: 0 for asset in ASSETS}
    balances.update((asset, int(total)) for asset, total in database.execute_sql(_BALANCES_BEFORE, params))
    rows = []
    for values in database.execute_sql(_ENTRIES, params):
        row = dict(zip(ENTRY_COLUMNS, values))
        row["amount"] = int(row["amount"])
        balances[row["asset"]] += row["amount"]
        row["balance"] = balances[row["asset"]]
        rows.append(row)
    return rows


def rewards_by_pooler(address: str) -> dict[int | None, dict[str, int]]:
    """Per pooler that requested the plants (None: a plant the pool did not send), the pails
    harvested into the wallet, their rewards and the stakes they returned."""
    return {pooler: {"pails": int(pails), "rewards": int(rewards), "stakes": int(stakes)}
            for pooler, pails, rewards, stakes in database.execute_sql(_REWARDS, {"address": address})}


def unexplained(address: str) -> list[dict[str, Any]]:
    """The wallet's entries of movements the chain shows and no pool transaction explains."""
    return [row for row in entries(address) if row["class"] == "unexplained"]


_SUMMARY = """
    SELECT asset, class, sum(amount) FROM custody_entries
    WHERE account = %(address)s AND ledger <= %(last)s GROUP BY asset, class ORDER BY asset, class"""


def summary(address: str, through_ledger: int | None = None) -> dict[str, dict[str, Any]]:
    """Per asset, the wallet's balance and the total of each class of entries after ledger
    `through_ledger` (all stored by default)."""
    last = _LAST if through_ledger is None else through_ledger
    found: dict[str, dict[str, Any]] = {asset: {"balance": 0, "classes": {}} for asset in ASSETS}
    for asset, entry_class, total in database.execute_sql(_SUMMARY, {"address": address, "last": last}):
        found[asset]["classes"][entry_class] = int(total)
        found[asset]["balance"] += int(total)
    return found
