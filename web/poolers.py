"""Pooler endpoints: the public list farmers choose from, and a pooler's own view of itself."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify

from db.models import Farmer, Pooler
from web.api import operation
from web.auth import Principal
from web.performance import pooler_figures
from web.presenters import pooled_farmer_view, pooler_view
from web.services import services

blueprint = Blueprint("poolers", __name__)
TAG = "poolers"


def _public_poolers() -> list[dict[str, Any]]:
    """Active poolers with their terms and figures, recomputed at most every few seconds per worker."""
    pool = services()
    made, listing = pool.public_poolers
    if time.monotonic() - made >= pool.public_poolers_ttl:
        figures = pooler_figures()
        listing = [{"pooler_id": pooler.id, "name": pooler.name, "capacity": pooler.capacity,
                    "share_bps": pooler.share_bps, "open_slots": max(0, pooler.capacity - figures[pooler.id]["farmers"]),
                    "performance": figures[pooler.id]}
                   for pooler in Pooler.select().where(Pooler.active).order_by(Pooler.id) if pooler.id in figures]
        pool.public_poolers = (time.monotonic(), listing)
    return listing


@operation(blueprint, "GET", "/poolers", "Active poolers: capacity, terms and performance, to choose from",
           tag=TAG)
def list_poolers() -> Response:
    return jsonify({"poolers": _public_poolers()})


@operation(blueprint, "GET", "/pooler/me", "The calling pooler, with its figures", tag=TAG, roles=("pooler",))
def get_pooler_me(principal: Principal) -> Response:
    return jsonify({**pooler_view(principal.row), "performance": pooler_figures(principal.id)[principal.id]})


@operation(blueprint, "GET", "/pooler/farmers", "The calling pooler's active farmers (addresses, never keys)",
           tag=TAG, roles=("pooler",))
def get_pooler_farmers(principal: Principal) -> Response:
    farmers = (Farmer.select().where(Farmer.pooler == principal.id, Farmer.status == "active")
               .order_by(Farmer.id))
    return jsonify({"farmers": [pooled_farmer_view(farmer) for farmer in farmers]})
