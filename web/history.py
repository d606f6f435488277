"""A farmer's history: plantings, works, harvests and payouts in one list, newest first."""
from __future__ import annotations

from typing import Any

from db.connection import database
from web.presenters import timestamp

_HISTORY = """
SELECT kind, id, block_index, amount, tx_hash, created_at, detail FROM (
    SELECT 'planting' AS kind, id, block_index, amount, tx_hash, created_at, NULL::json AS detail
      FROM plantings WHERE farmer_id = %(farmer)s
    UNION ALL
    SELECT 'work', id, block_index, NULL, tx_hash, created_at,
           json_build_object('hash', encode(hash, 'hex'), 'nonce', nonce, 'zeros', zeros, 'gap', gap)
      FROM works WHERE farmer_id = %(farmer)s
    UNION ALL
    SELECT 'harvest', id, block_index, reward, tx_hash, created_at, NULL
      FROM harvests WHERE farmer_id = %(farmer)s
    UNION ALL
    SELECT 'payout', id, NULL, amount, tx_hash, created_at,
           json_build_object('recipient', recipient, 'destination', destination, 'asset', asset,
                             'status', status)
      FROM payouts WHERE farmer_id = %(farmer)s
) AS events
WHERE %(kind)s::text IS NULL OR kind = %(kind)s
"""


def history(farmer_id: int, kind: str | None, limit: int, offset: int) -> dict[str, Any]:
    """One page of the farmer's events and the total count, for `kind` or all kinds."""
    params = {"farmer": farmer_id, "kind": kind, "limit": limit, "offset": offset}
    rows = database.execute_sql(
        _HISTORY + " ORDER BY created_at DESC, kind, id DESC LIMIT %(limit)s OFFSET %(offset)s", params)
    total = database.execute_sql(f"SELECT count(*) FROM ({_HISTORY}) AS page", params).fetchone()[0]
    events = [{"kind": kind_, "id": id_, "block_index": block, "amount": None if amount is None else int(amount),
               "tx_hash": tx_hash, "created_at": timestamp(created), **(detail or {})}
              for kind_, id_, block, amount, tx_hash, created, detail in rows]
    return {"events": events, "total": total, "limit": limit, "offset": offset}
