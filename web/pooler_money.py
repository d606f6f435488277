"""A pooler's money at settlements, as its console shows it: the shares paid to it, the
compensation its shares paid and the debt it still owes; and per pooler the
compensation paid, for the public list. (Its share accrued comes with web.performance's figures.)"""
from __future__ import annotations

from db.connection import database

_SETTLED = """
SELECT coalesce(sum(amount), 0), coalesce(sum(offset_amount), 0), coalesce(sum(debt_collected), 0),
       coalesce(sum(debt), 0)
  FROM settlement_periods WHERE pooler_id = %(pooler)s"""
_COMPENSATION_PAID = """
SELECT pooler_id, sum(offset_amount + debt_collected) FROM settlement_periods GROUP BY pooler_id"""


def settled_money(pooler_id: int) -> dict[str, int]:
    """What settlements did with the pooler's shares, and what it still owes (stroops).

    share_paid: what settlements paid the pooler; compensation_paid: what its shares covered of
    the compensation it owed (offset) plus the older debts they paid (debt_paid); debt_owed: the
    compensation its shares could not cover and have not paid since.
    """
    row = database.execute_sql(_SETTLED, {"pooler": pooler_id}).fetchone()
    paid, offset, debt_paid, debt = (int(value) for value in row)
    return {"share_paid": paid, "compensation_paid": offset + debt_paid, "debt_paid": debt_paid,
            "debt_owed": debt - debt_paid}


def compensation_paid_by_pooler() -> dict[int, int]:
    """Per pooler that has settled farmers: the compensation its shares paid (offsets and debts)."""
    return {pooler: int(total) for pooler, total in database.execute_sql(_COMPENSATION_PAID)}
