"""Farmer endpoints: register, read and change oneself, follow the history, activate, leave."""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, jsonify, request
from peewee import fn

from chain.rpc import RpcUnavailable
from db.connection import database
from db.custody_ledger import entries
from db.models import Farmer, Pooler
from jobs.activation import ActivationRefused, activate
from jobs.custody_rotation import hold_custody_lock_shared
from web.api import operation
from web.auth import Principal, new_token
from web.errors import ApiError
from web.history import history
from web.farmer_money import money_view
from web.payout_address import check_payout_address
from web.presenters import farmer_view, farmer_views, pooled_farmer_view
from web.ratelimit import client_address, limit
from web.services import services
from web.validation import BIGINT_MAX

blueprint = Blueprint("farmers", __name__)
TAG = "farmers"
CHANGEABLE = ("awaiting_funding", "active")
# Who takes a place at a pooler: farmers that funded and activated, until they have left.
# An unfunded registration costs nothing, so a flood of them cannot fill a pooler.
SEATED = ("active", "leaving")


def _joinable_pooler(pooler_id: int) -> Pooler:
    """The pooler, locked, if it is active and has room for one more seated farmer; else a 4xx."""
    pooler = Pooler.select().where(Pooler.id == pooler_id).for_update().first()
    if pooler is None or not pooler.active:
        raise ApiError(400, "invalid_field", f"pooler_id: no active pooler {pooler_id}")
    members = Farmer.select().where(Farmer.pooler == pooler, Farmer.status.in_(SEATED)).count()
    if members >= pooler.capacity:
        raise ApiError(409, "pooler_full", f"pooler_id: pooler {pooler_id} is at its capacity of "
                                           f"{pooler.capacity} farmers")
    return pooler


def funding_instructions(farmer: Farmer) -> dict[str, Any]:
    """What a new farmer must do before it can be activated."""
    settings = services().settings
    network = settings.network
    return {
        "address": farmer.custodial_address,
        "network": network.name,
        "min_xlm_stroops": settings.min_account_xlm_stroops,
        "kale_asset": network.kale_asset,
        "steps": [
            f"Send at least {settings.min_account_xlm_stroops} stroops of XLM to {farmer.custodial_address} "
            "(creating the account).",
            "POST /api/v1/farmers/me/activate: the pool checks the account and adds the KALE trustline.",
            f"Send KALE ({network.kale_asset}) to the same address: your stake is a share of it.",
        ],
    }


@operation(blueprint, "POST", "/farmers", "Register a farmer: the pool creates its custodial wallet",
           tag=TAG, body="FarmerCreate", status=201,
           responses={201: "the farmer, its funding instructions and its API token (shown once); "
                           "unless funded and activated it expires after KALEPOOL_REGISTRATION_TTL_SECONDS",
                      409: "the pooler is full", 429: "too many registrations from this client"},
           response="FarmerCreated")
def create_farmer(body: Any) -> tuple[Response, int, dict[str, str]]:
    check_payout_address(body.payout_address)
    found = services()
    limit(found.registrations, client_address(request, found.settings.api_trusted_proxy_hops), "registrations")
    with database.atomic():
        hold_custody_lock_shared()
        pooler = _joinable_pooler(body.pooler_id)
        farmer_id = Farmer.next_id()
        wallet = services().custody.create_wallet(farmer_id)
        token, token_hash = new_token("farmer")
        Farmer.create(id=farmer_id, custodial_address=wallet.public_key, **wallet.sealed.fields(),
                      payout_address=body.payout_address, pooler=pooler, stake_bps=body.stake_bps,
                      harvest_interval_blocks=body.harvest_interval_blocks, api_token_hash=token_hash)
    farmer = Farmer.get_by_id(farmer_id)
    payload = {**farmer_view(farmer), "api_token": token, "funding": funding_instructions(farmer)}
    return jsonify(payload), 201, {"Location": "/api/v1/farmers/me"}


@operation(blueprint, "GET", "/farmers/me", "The calling farmer, with its balances, rewards per pooler and "
           "what an exit would pay each party today", tag=TAG, roles=("farmer",), response="FarmerWithMoney")
def get_me(principal: Principal) -> Response:
    return jsonify({**farmer_view(principal.row), **money_view(principal.row)})


@operation(blueprint, "PATCH", "/farmers/me", "Change stake, harvest interval, or pooler (pails already "
           "planted stay the pooler's that requested them)", tag=TAG, roles=("farmer",), body="FarmerUpdate",
           responses={409: "the farmer is leaving or departed"}, response="Farmer")
def update_me(principal: Principal, body: Any) -> Response:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    with database.atomic():
        farmer = Farmer.select().where(Farmer.id == principal.id).for_update().get()
        if changes and farmer.status not in CHANGEABLE:
            raise ApiError(409, "not_changeable", f"a farmer that is {farmer.status} cannot change its settings")
        if "pooler_id" in changes and changes["pooler_id"] != farmer.pooler_id:
            changes["pooler"] = _joinable_pooler(changes.pop("pooler_id"))
        else:
            changes.pop("pooler_id", None)
        if changes:
            Farmer.update(**changes).where(Farmer.id == farmer.id).execute()
    return jsonify(farmer_view(Farmer.get_by_id(principal.id)))


@operation(blueprint, "GET", "/farmers/me/history", "The calling farmer's plantings, works, harvests and "
           "payouts, newest first", tag=TAG, roles=("farmer",), query="HistoryPage", response="History")
def get_my_history(principal: Principal, query: Any) -> Response:
    return jsonify(history(principal.id, query.kind, query.limit, query.offset))


LEDGER_FIELDS = ("ledger", "tx_hash", "class", "asset", "amount", "balance", "counterparty", "block_index",
                 "pooler_id")


def ledger_rows(farmer: Farmer) -> list[dict[str, Any]]:
    """The farmer's custody ledger, oldest first: each chain movement of its wallet with the running
    balance of that asset after it."""
    return [{name: row[name] for name in LEDGER_FIELDS} for row in entries(farmer.custodial_address)]


@operation(blueprint, "GET", "/farmers/me/ledger", "The calling farmer's custody ledger from the chain: every "
           "KALE and XLM movement of its wallet, its class and the running balance, oldest first", tag=TAG,
           roles=("farmer",), query="Page", response="Ledger")
def get_my_ledger(principal: Principal, query: Any) -> Response:
    rows = ledger_rows(principal.row)
    return jsonify({"entries": rows[query.offset:query.offset + query.limit], "total": len(rows),
                    "limit": query.limit, "offset": query.offset})


@operation(blueprint, "GET", "/farmers/me/ledger.csv", "The calling farmer's custody ledger (CSV, every entry)",
           tag=TAG, roles=("farmer",), produces="text/csv")
def get_my_ledger_csv(principal: Principal) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LEDGER_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(ledger_rows(principal.row))
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="farmer-{principal.id}-ledger.csv"'})


@operation(blueprint, "POST", "/farmers/me/activate", "Check the funded custodial account on chain, add the "
           "KALE trustline, and start farming", tag=TAG, roles=("farmer",), body="Empty",
           responses={409: "not funded yet, not in a state that can be activated, or the pooler is full",
                      502: "the chain refused the trustline transaction",
                      503: "the RPC server is unreachable"}, response="Farmer")
def activate_me(principal: Principal, body: Any) -> Response:
    if principal.row.status == "awaiting_funding":
        with database.atomic():
            _joinable_pooler(principal.row.pooler_id)  # a seat is taken only now
    try:
        farmer = activate(services().pool, principal.row)
    except ActivationRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    except RpcUnavailable as exc:
        raise ApiError(503, "rpc_unavailable", str(exc)) from None
    return jsonify(farmer_view(farmer))


@operation(blueprint, "POST", "/farmers/me/exit", "Leave the pool: no more plants; settlement follows once "
           "the last pails are harvested", tag=TAG, roles=("farmer",), body="Empty", status=202,
           responses={202: "exit accepted", 409: "already leaving or departed"}, response="Farmer")
def exit_me(principal: Principal, body: Any) -> tuple[Response, int]:
    with database.atomic():
        farmer = Farmer.select().where(Farmer.id == principal.id).for_update().get()
        if farmer.status not in CHANGEABLE:
            raise ApiError(409, "not_changeable", f"the farmer is already {farmer.status}")
        Farmer.update(status="leaving", exit_requested_at=fn.now()).where(Farmer.id == farmer.id).execute()
    return jsonify(farmer_view(Farmer.get_by_id(principal.id))), 202


def visible_farmer(principal: Principal, farmer_id: int) -> Farmer:
    """The farmer if the caller may read it: itself, one of a pooler's farmers, or any for an auditor."""
    farmer = Farmer.get_or_none(Farmer.id == farmer_id) if farmer_id <= BIGINT_MAX else None
    visible = farmer is not None and (
        principal.role == "auditor"
        or (principal.role == "farmer" and farmer.id == principal.id)
        or (principal.role == "pooler" and farmer.pooler_id == principal.id))
    if not visible:
        raise ApiError(404, "not_found", f"no farmer {farmer_id} that this token may read")
    return farmer


@operation(blueprint, "GET", "/farmers/<int:farmer_id>", "One farmer: itself, a pooler's own, or any "
           "for an auditor", tag=TAG, roles=("farmer", "pooler", "auditor"), response="FarmerAsSeen")
def get_farmer(principal: Principal, farmer_id: int) -> Response:
    farmer = visible_farmer(principal, farmer_id)
    if principal.role == "pooler":
        return jsonify(pooled_farmer_view(farmer))
    return jsonify({**farmer_view(farmer), **money_view(farmer)})


@operation(blueprint, "GET", "/farmers/<int:farmer_id>/history", "One farmer's history (itself, a pooler's "
           "own, or any for an auditor)", tag=TAG, roles=("farmer", "pooler", "auditor"), query="HistoryPage",
           response="History")
def get_farmer_history(principal: Principal, farmer_id: int, query: Any) -> Response:
    farmer = visible_farmer(principal, farmer_id)
    return jsonify(history(farmer.id, query.kind, query.limit, query.offset))


@operation(blueprint, "GET", "/farmers", "Every farmer, oldest first (auditors)", tag=TAG,
           roles=("auditor",), query="Page", response="FarmerList")
def list_farmers(principal: Principal, query: Any) -> Response:
    farmers = list(Farmer.select().order_by(Farmer.id).limit(query.limit).offset(query.offset))
    return jsonify({"farmers": farmer_views(farmers),
                    "total": Farmer.select().count(), "limit": query.limit, "offset": query.offset})
