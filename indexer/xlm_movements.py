"""The XLM movements of a stored transaction (fee, create_account, native payments, merges) and
the claimable-balance movements of either asset, read from its `chain_transactions` row.

KALE payments are not here: they are KALE movements already (`chain_kale_movements`). A
movement is what left one party for another; the custody ledger classifies it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from indexer.decode import event_id, toid

NETWORK_FEES = "network:fees"


@dataclass(frozen=True)
class Movement:
    """`amount` stroops of `asset` ('KALE' | 'XLM') from `sender` to `receiver` in one transaction.

    A party is an address, a contra name (`network:fees`, `claimable:<id>`) or None (a KALE
    mint's sender, a burn's receiver). `position` orders movements in a ledger (fees first).
    """

    id: str
    position: str
    ledger: int
    tx_hash: str
    asset: str
    kind: str
    sender: str | None
    receiver: str | None
    amount: int


def claimable(balance_id: str) -> str:
    """The contra account of a claimable balance."""
    return f"claimable:{balance_id}"


def fee_movement(row: dict[str, Any]) -> Movement:
    """The fee the transaction charged its fee source (the outer one of a fee bump), charged
    before any transaction of its ledger applies, successful or not."""
    payer = row["fee_source"] or row["source"]
    return Movement(f"fee:{row['hash']}", f"{toid(row['ledger'], 0):019d}-{row['application_order']:010d}",
                    row["ledger"], row["hash"], "XLM", "fee", payer, NETWORK_FEES, int(row["fee_charged"]))


def _asset(name: str | None, kale_asset: str) -> str | None:
    return "XLM" if name == "native" else "KALE" if name == kale_asset else None


def operation_movements(row: dict[str, Any], kale_asset: str,
                        claimed: Callable[[str], tuple[str, int] | None]) -> list[Movement]:
    """XLM and claimable-balance movements of a successful transaction's classic operations.

    `claimed(balance_id)` is the (asset name, amount) a claimable balance was created with, or
    None when the record does not hold its creation.
    """
    if not row["successful"]:
        return []
    movements = []
    for index, op in enumerate(row["operations"] or []):
        source, kind = op.get("source", row["source"]), op["type"]
        if kind == "create_claimable_balance" and op.get("balance_id"):
            asset, amount, sender, receiver = op["asset"], op["amount"], source, claimable(op["balance_id"])
        elif kind == "claim_claimable_balance":
            found = claimed(op["balance_id"])
            if found is None:
                continue
            (asset, amount), sender, receiver = found, claimable(op["balance_id"]), source
        elif kind in ("payment", "create_account", "account_merge") and op.get("asset") == "native" \
                and op.get("amount") is not None:
            asset, amount, sender, receiver = "native", op["amount"], source, op["destination"]
        else:
            continue
        name = _asset(asset, kale_asset)
        if name is None or not amount:
            continue
        position = event_id(row["ledger"], row["application_order"], index, 0)
        movements.append(Movement(position if name == "KALE" else f"xlm:{position}", position, row["ledger"],
                                  row["hash"], name, kind, sender, receiver, int(amount)))
    return movements
