"""Figures a farmer compares poolers by: how full they are and how well they work what is planted."""
from __future__ import annotations

from typing import Any

from db.connection import database

_FIGURES = """
SELECT p.id,
       (SELECT count(*) FROM farmers f WHERE f.pooler_id = p.id AND f.status <> 'departed'),
       (SELECT count(*) FROM farmers f WHERE f.pooler_id = p.id AND f.status = 'active'),
       (SELECT count(*) FROM plantings pl WHERE pl.pooler_id = p.id),
       (SELECT count(*) FROM works w WHERE w.pooler_id = p.id),
       (SELECT count(*) FROM compensations c WHERE c.pooler_id = p.id),
       (SELECT coalesce(sum(h.reward), 0) FROM harvests h
          JOIN plantings pl ON pl.farmer_id = h.farmer_id AND pl.block_index = h.block_index
         WHERE pl.pooler_id = p.id),
       (SELECT coalesce(sum(c.amount), 0) FROM compensations c
         WHERE c.pooler_id = p.id AND c.settlement_id IS NULL)
  FROM poolers p
 WHERE {where}
"""


def pooler_figures(pooler_id: int | None = None) -> dict[int, dict[str, Any]]:
    """Per active pooler (or the one pooler asked for): farmers, plantings, works, misses, rewards."""
    where, params = ("p.id = %s", (pooler_id,)) if pooler_id is not None else ("p.active", ())
    figures = {}
    for row in database.execute_sql(_FIGURES.format(where=where), params).fetchall():
        (pid, farmers, active, plantings, works, missed, harvested, owed) = row
        figures[pid] = {
            "farmers": farmers,
            "active_farmers": active,
            "plantings": plantings,
            "works": works,
            "missed": missed,
            "work_rate_bps": works * 10_000 // plantings if plantings else None,
            "rewards_harvested": int(harvested),
            "compensation_owed": int(owed),
        }
    return figures
