"""Changing a farmer's payout address: guarded twice, since a stolen token alone must not redirect money.

With a SEP-10 challenge signed by the current payout address the change applies at once. Without
one it is allowed only when the current address never existed on chain (nobody could sign for
it): the change is then pending, visible, and takes effect after the configured delay unless the
current address comes to exist or the farmer cancels. Nothing changes once the payout is built.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from chain.rpc import RpcUnavailable
from db.connection import database
from db.models import Farmer
from db.payout_address import (cancel_pending, change_now, payout_built, refused_payout_address,
                               schedule_change)
from web import sep10
from web.api import operation
from web.auth import Principal
from web.errors import ApiError
from web.presenters import farmer_view
from web.services import services

blueprint = Blueprint("payout_address", __name__)
TAG = "farmers"


def check_payout_address(address: str, field: str = "payout_address") -> None:
    """400 when `address` may not receive a farmer's payout (a custodial or a pooler's address)."""
    reason = refused_payout_address(address)
    if reason is not None:
        raise ApiError(400, "invalid_field", f"{field}: {address} cannot be a payout address: {reason}")


def _changeable(principal: Principal) -> Farmer:
    """The calling farmer, locked, while its payout address may still change; else 409."""
    farmer = Farmer.select().where(Farmer.id == principal.id).for_update().get()
    if farmer.status == "departed" or payout_built(farmer.id):
        raise ApiError(409, "payout_built", "the payout is already built; the payout address can no longer "
                                            "change")
    return farmer


def _exists_on_chain(address: str) -> bool:
    try:
        return services().chain.account(address) is not None
    except RpcUnavailable as exc:
        raise ApiError(503, "rpc_unavailable", str(exc)) from None


@operation(blueprint, "POST", "/farmers/me/payout-address", "Change the payout address: at once with a "
           "challenge signed by the current payout address; without one only if the current address never "
           "existed on chain, and then after a delay", tag=TAG, roles=("farmer",), body="PayoutAddressRequest",
           responses={200: "the farmer: the new payout_address, or pending_payout_address and "
                           "payout_address_effective_at for a delayed change",
                      401: "the challenge is not valid, was used, or is not signed by the current payout "
                           "address",
                      403: "the current payout address exists on chain: a signed challenge is required",
                      409: "the payout is already built",
                      503: "the RPC server is unreachable"}, response="Farmer")
def change_payout_address(principal: Principal, body: Any) -> Response:
    check_payout_address(body.address, "address")
    verified = sep10.verify(body.transaction) if body.transaction is not None else None
    with database.atomic():
        farmer = _changeable(principal)
        if body.address == farmer.payout_address:
            raise ApiError(400, "invalid_field", "address: this is already the payout address")
        if verified is None:
            if _exists_on_chain(farmer.payout_address):
                raise ApiError(403, "signature_required", f"the current payout address {farmer.payout_address} "
                                                          "exists on chain: send a challenge signed by it")
            schedule_change(farmer, body.address, services().settings.payout_address_change_delay_seconds)
        else:
            if verified.account != farmer.payout_address:
                raise ApiError(401, "invalid_challenge", f"the challenge is for {verified.account}, not for "
                                                         f"the current payout address {farmer.payout_address}")
            sep10.consume(verified, "payout_address")
            change_now(farmer, body.address)
    return jsonify(farmer_view(Farmer.get_by_id(principal.id)))


@operation(blueprint, "DELETE", "/farmers/me/payout-address/pending", "Cancel a delayed payout-address "
           "change", tag=TAG, roles=("farmer",),
           responses={200: "the farmer, with no pending change", 404: "no change is pending"}, response="Farmer")
def cancel_pending_payout_address(principal: Principal) -> Response:
    with database.atomic():
        Farmer.select().where(Farmer.id == principal.id).for_update().get()
        if not cancel_pending(principal.id, "cancelled by the farmer"):
            raise ApiError(404, "not_found", "no payout-address change is pending")
    return jsonify(farmer_view(Farmer.get_by_id(principal.id)))
