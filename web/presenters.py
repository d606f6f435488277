"""How rows look in API responses: never a key, amounts as exact integers (stroops)."""
from __future__ import annotations

import datetime
from typing import Any

from chain.rpc import RpcUnavailable
from db.models import Farmer, PayoutAddressChange, Pooler
from db.payout_address import effective_payout_address, pending_change
from web.services import services


def timestamp(value: datetime.datetime | None) -> str | None:
    """RFC 3339 in UTC, or None."""
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


_LOOK_UP: Any = object()


def _payout_addresses(farmer: Farmer, pending: PayoutAddressChange | None) -> tuple[str, PayoutAddressChange | None]:
    """The payout address and the pending change, after applying a change that has come due (when the
    RPC cannot say whether the old address exists, the change stays pending)."""
    if pending is None:
        return farmer.payout_address, None
    if pending.effective_at > datetime.datetime.now(datetime.timezone.utc):
        return farmer.payout_address, pending
    try:
        address = effective_payout_address(farmer, services().chain)
    except RpcUnavailable:
        return farmer.payout_address, pending
    return address, pending_change(farmer.id)


def farmer_view(farmer: Farmer, pending: PayoutAddressChange | None = _LOOK_UP) -> dict[str, Any]:
    """A farmer as the farmer itself and auditors see it (`pending`: its pending payout address change,
    when the caller already looked it up)."""
    payout_address, pending = _payout_addresses(farmer, pending_change(farmer.id) if pending is _LOOK_UP
                                                else pending)
    return {
        "farmer_id": farmer.id,
        "custodial_address": farmer.custodial_address,
        "payout_address": payout_address,
        "pending_payout_address": pending.new_address if pending else None,
        "payout_address_effective_at": timestamp(pending.effective_at) if pending else None,
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


def farmer_views(farmers: list[Farmer]) -> list[dict[str, Any]]:
    """farmer_view of each farmer, their pending payout address changes read in one query."""
    pending = {change.farmer_id: change for change in PayoutAddressChange.select().where(
        PayoutAddressChange.farmer.in_([farmer.id for farmer in farmers]),
        PayoutAddressChange.status == "pending")} if farmers else {}
    return [farmer_view(farmer, pending.get(farmer.id)) for farmer in farmers]


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
