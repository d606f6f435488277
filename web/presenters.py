"""How rows look in API responses: never a key, amounts as exact integers (stroops)."""
from __future__ import annotations

import datetime
from typing import Any

from db.models import Farmer, Pooler


def timestamp(value: datetime.datetime | None) -> str | None:
    """RFC 3339 in UTC, or None."""
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def farmer_view(farmer: Farmer) -> dict[str, Any]:
    """A farmer as the farmer itself and auditors see it."""
    return {
        "farmer_id": farmer.id,
        "custodial_address": farmer.custodial_address,
        "payout_address": farmer.payout_address,
        "pooler_id": farmer.pooler_id,
        "stake_bps": farmer.stake_bps,
        "harvest_interval_blocks": farmer.harvest_interval_blocks,
        "status": farmer.status,
        "plant_problem": farmer.plant_problem,
        "created_at": timestamp(farmer.created_at),
        "activated_at": timestamp(farmer.activated_at),
        "exit_requested_at": timestamp(farmer.exit_requested_at),
        "departed_at": timestamp(farmer.departed_at),
    }


def pooled_farmer_view(farmer: Farmer) -> dict[str, Any]:
    """A farmer as its pooler sees it: what mining needs, addresses only."""
    return {
        "farmer_id": farmer.id,
        "custodial_address": farmer.custodial_address,
        "stake_bps": farmer.stake_bps,
        "harvest_interval_blocks": farmer.harvest_interval_blocks,
        "status": farmer.status,
    }


def pooler_view(pooler: Pooler) -> dict[str, Any]:
    """A pooler as it sees itself (its performance comes separately)."""
    return {
        "pooler_id": pooler.id,
        "name": pooler.name,
        "payout_address": pooler.payout_address,
        "capacity": pooler.capacity,
        "share_bps": pooler.share_bps,
        "active": pooler.active,
        "created_at": timestamp(pooler.created_at),
    }
