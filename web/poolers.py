"""Pooler endpoints: the public list farmers choose from, a pooler's own view of itself (figures,
money, its agents' hash rate) and the status its agents report."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify

from db.connection import database
from db.models import Farmer, Pooler
from web.api import operation
from web.auth import Principal
from web.performance import pooler_figures
from web.pooler_money import compensation_paid_by_pooler, settled_money
from web.presenters import pooled_farmer_view, pooler_view, timestamp
from web.services import services

blueprint = Blueprint("poolers", __name__)
TAG = "poolers"


def _public_poolers() -> list[dict[str, Any]]:
    """Active poolers with their terms and figures, recomputed at most every few seconds per worker."""
    pool = services()
    made, listing = pool.public_poolers
    if time.monotonic() - made >= pool.public_poolers_ttl:
        figures, paid = pooler_figures(), compensation_paid_by_pooler()
        listing = [{"pooler_id": pooler.id, "name": pooler.name, "capacity": pooler.capacity,
                    "share_bps": pooler.share_bps, "open_slots": max(0, pooler.capacity - figures[pooler.id]["farmers"]),
                    "compensation_paid": paid.get(pooler.id, 0), "performance": figures[pooler.id]}
                   for pooler in Pooler.select().where(Pooler.active).order_by(Pooler.id) if pooler.id in figures]
        pool.public_poolers = (time.monotonic(), listing)
    return listing


@operation(blueprint, "GET", "/poolers", "Active poolers: capacity, terms and performance, to choose from",
           tag=TAG, response="PublicPoolers")
def list_poolers() -> Response:
    return jsonify({"poolers": _public_poolers()})


AGENT_WINDOW_SECONDS = 900  # an agent silent for three blocks no longer counts in the hash rate
_UPSERT_STATUS = """
INSERT INTO pooler_agent_status (pooler_id, agent, hash_rate, block_index, reported_at)
VALUES (%(pooler)s, %(agent)s, %(hash_rate)s, %(block_index)s, now())
ON CONFLICT (pooler_id, agent) DO UPDATE
   SET hash_rate = EXCLUDED.hash_rate, block_index = EXCLUDED.block_index, reported_at = EXCLUDED.reported_at
RETURNING reported_at"""
_AGENTS = """
SELECT agent, hash_rate, block_index, reported_at, reported_at > now() - make_interval(secs => %(window)s)
  FROM pooler_agent_status WHERE pooler_id = %(pooler)s ORDER BY agent"""


def agents_view(pooler_id: int) -> dict[str, Any]:
    """The pooler's agents as they last reported, and the hash rate of those heard from recently."""
    rows = database.execute_sql(_AGENTS, {"pooler": pooler_id, "window": AGENT_WINDOW_SECONDS}).fetchall()
    agents = [{"agent": agent, "hash_rate": rate, "block_index": block, "reported_at": timestamp(at),
               "current": current} for agent, rate, block, at, current in rows]
    return {"hash_rate": sum(a["hash_rate"] for a in agents if a["current"]), "agents": agents,
            "window_seconds": AGENT_WINDOW_SECONDS}


@operation(blueprint, "GET", "/pooler/me", "The calling pooler: its figures, its share accrued and paid, the "
           "compensation it owes and paid, and the hash rate its agents report", tag=TAG, roles=("pooler",),
           response="PoolerMe")
def get_pooler_me(principal: Principal) -> Response:
    figures = pooler_figures(principal.id, accrued=True)[principal.id]
    money = {"share_accrued": figures.pop("share_accrued"), "compensation_owed": figures["compensation_owed"],
             **settled_money(principal.id)}
    return jsonify({**pooler_view(principal.row), "performance": figures, "money": money,
                    **agents_view(principal.id)})


@operation(blueprint, "POST", "/pooler/status", "An agent of the calling pooler reports its hash rate "
           "(body: agent, hash_rate, block_index); the console shows it", tag=TAG, roles=("pooler",),
           body="PoolerStatus", responses={400: "a field is missing or out of range", 413: "the body is too large",
                                           415: "the body is not JSON"}, response="Agents")
def report_status(principal: Principal, body: Any) -> Response:
    database.execute_sql(_UPSERT_STATUS, {"pooler": principal.id, "agent": body.agent,
                                          "hash_rate": body.hash_rate, "block_index": body.block_index})
    return jsonify(agents_view(principal.id))


@operation(blueprint, "GET", "/pooler/farmers", "The calling pooler's active farmers, oldest first, one page "
           "(addresses, never keys)", tag=TAG, roles=("pooler",), query="Page", response="PooledFarmerList")
def get_pooler_farmers(principal: Principal, query: Any) -> Response:
    mine = Farmer.select().where(Farmer.pooler == principal.id, Farmer.status == "active")
    farmers = mine.order_by(Farmer.id).limit(query.limit).offset(query.offset)
    return jsonify({"farmers": [pooled_farmer_view(farmer) for farmer in farmers], "total": mine.count(),
                    "limit": query.limit, "offset": query.offset})
