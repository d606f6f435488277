"""Figures a farmer compares poolers by: how full they are and how well they work what is planted;
and, for the pooler's own console, the share it has accrued on the pails it worked."""
from __future__ import annotations

from typing import Any

from db.connection import database
from db.settlement_figures import BPS

# One grouped pass per table (not a subquery per pooler and figure). The pails pass also yields,
# per farmer not settled yet, sum(reward x share_bps) of the pooler's pails: its accrued share is
# floor(that / 10000) per farmer, as db.settlement_figures splits a period.
_FARMERS = """
SELECT pooler_id, count(*) FILTER (WHERE status <> 'departed'), count(*) FILTER (WHERE status = 'active')
  FROM farmers WHERE {where} GROUP BY pooler_id"""
_PAILS = """
SELECT p.pooler_id, p.farmer_id, count(*), coalesce(sum(h.reward), 0),
       coalesce(sum(h.reward * coalesce(p.share_bps, po.share_bps)), 0),
       NOT EXISTS (SELECT 1 FROM settlements s WHERE s.farmer_id = p.farmer_id)
  FROM plantings p
  JOIN poolers po ON po.id = p.pooler_id
  LEFT JOIN harvests h ON h.farmer_id = p.farmer_id AND h.block_index = p.block_index
 WHERE {where} GROUP BY p.pooler_id, p.farmer_id"""
_WORKS = "SELECT pooler_id, count(*) FROM works WHERE {where} GROUP BY pooler_id"
_COMPENSATIONS = """
SELECT pooler_id, count(*), coalesce(sum(amount) FILTER (WHERE settlement_id IS NULL), 0)
  FROM compensations WHERE {where} GROUP BY pooler_id"""


def _grouped(sql: str, column: str, pooler_id: int | None) -> list[tuple[Any, ...]]:
    where, params = (f"{column} = %s", (pooler_id,)) if pooler_id is not None else ("true", ())
    return database.execute_sql(sql.format(where=where), params).fetchall()


def pooler_figures(pooler_id: int | None = None, accrued: bool = False) -> dict[int, dict[str, Any]]:
    """Per active pooler (or the one pooler asked for): farmers, plantings, works, misses, rewards;
    with `accrued`, also `share_accrued`: its share of its pails' rewards for farmers not settled yet."""
    where, params = ("id = %s", (pooler_id,)) if pooler_id is not None else ("active", ())
    ids = [row[0] for row in database.execute_sql(f"SELECT id FROM poolers WHERE {where}", params)]
    totals = {pid: {"farmers": 0, "active": 0, "plantings": 0, "works": 0, "missed": 0, "harvested": 0,
                    "owed": 0, "accrued": 0} for pid in ids}
    for pid, farmers, active in _grouped(_FARMERS, "pooler_id", pooler_id):
        if pid in totals:
            totals[pid].update(farmers=farmers, active=active)
    for pid, _farmer, plantings, harvested, weighted, unsettled in _grouped(_PAILS, "p.pooler_id", pooler_id):
        if pid in totals:
            found = totals[pid]
            found["plantings"] += plantings
            found["harvested"] += int(harvested)
            found["accrued"] += int(weighted) // BPS if unsettled else 0
    for pid, works in _grouped(_WORKS, "pooler_id", pooler_id):
        if pid in totals:
            totals[pid]["works"] = works
    for pid, missed, owed in _grouped(_COMPENSATIONS, "pooler_id", pooler_id):
        if pid in totals:
            totals[pid].update(missed=missed, owed=int(owed))
    figures = {}
    for pid, found in totals.items():
        plantings, works = found["plantings"], found["works"]
        figures[pid] = {
            "farmers": found["farmers"],
            "active_farmers": found["active"],
            "plantings": plantings,
            "works": works,
            "missed": found["missed"],
            "work_rate_bps": works * 10_000 // plantings if plantings else None,
            "rewards_harvested": found["harvested"],
            "compensation_owed": found["owed"],
        }
        if accrued:
            figures[pid]["share_accrued"] = found["accrued"]
    return figures
