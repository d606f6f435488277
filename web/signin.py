"""Sign-in with the payout account (SEP-10): a farmer that lost its token gets a new one by signing a
challenge with its payout key; the old token stops working. A lost token never locks a farmer out."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify

from db.connection import database
from db.models import Farmer
from web import sep10
from web.api import operation
from web.auth import new_token
from web.errors import ApiError

log = logging.getLogger(__name__)

blueprint = Blueprint("signin", __name__)
TAG = "auth"


@operation(blueprint, "POST", "/auth/challenge", "A SEP-10 challenge for a Stellar account, to sign with "
           "its master key (any account gets one)", tag=TAG, body="ChallengeRequest",
           responses={200: "the challenge transaction, the network passphrase to sign it for, and the unix "
                           "time it expires"}, response="Challenge")
def challenge(body: Any) -> Response:
    return jsonify(sep10.issue_challenge(body.account))


def _farmer_paying_to(account: str, farmer_id: int | None) -> Farmer:
    """The one non-departed farmer paying out to `account` (chosen by farmer_id when several do), locked."""
    farmers = list(Farmer.select().where(Farmer.payout_address == account, Farmer.status != "departed")
                   .order_by(Farmer.id).for_update())
    if farmer_id is not None:
        farmers = [farmer for farmer in farmers if farmer.id == farmer_id]
    if not farmers:
        which = f"farmer {farmer_id}" if farmer_id is not None else "farmer"
        raise ApiError(404, "not_found", f"no {which} pays out to {account}")
    if len(farmers) > 1:
        ids = ", ".join(str(farmer.id) for farmer in farmers)
        raise ApiError(409, "ambiguous", f"farmers {ids} pay out to {account}; send farmer_id to pick one")
    return farmers[0]


@operation(blueprint, "POST", "/auth/token", "A new farmer API token for a challenge signed by the farmer's "
           "payout address (the old token stops working)", tag=TAG, body="TokenRequest",
           responses={200: "the farmer id and its new API token (shown once)",
                      401: "the challenge is not valid: signatures, time bounds, domain, or already used",
                      404: "no farmer (or not farmer_id) pays out to the signing account",
                      409: "several farmers pay out to that account: send farmer_id"}, response="NewToken")
def token(body: Any) -> Response:
    verified = sep10.verify(body.transaction)
    api_token, token_hash = new_token("farmer")
    with database.atomic():
        farmer = _farmer_paying_to(verified.account, body.farmer_id)
        sep10.consume(verified, "token")
        Farmer.update(api_token_hash=token_hash).where(Farmer.id == farmer.id).execute()
    log.info("farmer %s: new API token issued by SEP-10 sign-in", farmer.id)
    return jsonify({"farmer_id": farmer.id, "api_token": api_token})
