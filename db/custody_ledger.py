"""Read side of the custody ledger (interim: KALE from the chain record's movements)."""
from __future__ import annotations

from db.connection import database

_KALE = """SELECT coalesce(sum(CASE WHEN to_address = %(a)s THEN amount ELSE -amount END), 0)
           FROM chain_kale_movements WHERE to_address = %(a)s OR from_address = %(a)s"""


def wallet_balance(address: str, asset: str, through_ledger: int | None = None) -> int:
    """The wallet's balance of `asset` by the chain record."""
    if asset != "KALE":
        return 0
    return int(database.execute_sql(_KALE, {"a": address}).fetchone()[0])
