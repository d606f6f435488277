"""Endpoints that move money or report on it: the pooler's plant request and work report,
the farmer's settlement statement, and the compensations poolers owe farmers.

A plant request is answered within PLANT_ANSWER_SECONDS whatever the RPC does: the
planting runs in a background thread of the worker, its outcome is written to
`plant_requests`, and a request still running by then is answered 202 with the URL the
pooler polls. One plant request per pooler runs at a time; asking again joins it.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, jsonify
from peewee import fn

from chain.rpc import RpcUnavailable
from db.connection import DATABASE_UNAVAILABLE, database
from db.models import Compensation, Farmer, PlantRequest, Pooler
from jobs.plant import Planter
from jobs.statement import settlement_statement, settlement_statement_csv
from jobs.work import verify_report
from web.api import operation
from web.auth import Principal
from web.errors import RETRY_AFTER_SECONDS, ApiError
from web.services import services
from web.validation import BIGINT_MAX

log = logging.getLogger(__name__)
blueprint = Blueprint("pool_actions", __name__)

PLANT_ANSWER_SECONDS = 10.0    # the longest a plant request waits before answering 202
POLL_SECONDS = 1               # what a 202 tells the pooler to wait before polling
ABANDONED_SECONDS = 150        # a run this old that never finished died with its worker (a planting
                               # waits at most about two minutes for the chain)
# why a background planting failed -> (HTTP status, message) of the poll that reports it
_FAILURES = {"rpc_unavailable": (503, "the Stellar RPC is unavailable; ask again shortly"),
             "database_unavailable": (503, "the database is unavailable; ask again shortly"),
             "internal_error": (500, "the planting failed; it has been logged")}


def _plant_in_background(planter: Planter, pooler_id: int, request_id: int, done: threading.Event) -> None:
    """Run one planting to its end and record the outcome (what a poll answers)."""
    outcome: dict[str, Any]
    try:
        with database.connection_context():
            answer = planter.plant_for(Pooler.get_by_id(pooler_id))
        outcome = {"status": "done", "answer": answer}
    except RpcUnavailable:
        outcome = {"status": "failed", "error_code": "rpc_unavailable"}
    except DATABASE_UNAVAILABLE:
        outcome = {"status": "failed", "error_code": "database_unavailable"}
    except Exception:
        log.exception("plant request %s failed", request_id)
        outcome = {"status": "failed", "error_code": "internal_error"}
    try:
        _record(request_id, outcome)
    finally:
        done.set()


def _record(request_id: int, outcome: dict[str, Any]) -> None:
    """Write the outcome, waiting out a database outage (pollers are told to wait meanwhile)."""
    deadline = time.monotonic() + ABANDONED_SECONDS
    while True:
        try:
            with database.connection_context():
                PlantRequest.update(**outcome, finished_at=fn.now()).where(PlantRequest.id == request_id).execute()
            return
        except DATABASE_UNAVAILABLE:
            if time.monotonic() >= deadline:
                log.warning("plant request %s: outcome not recorded (database unavailable)", request_id)
                return
            time.sleep(1.0)


def _start_or_join(pooler: Pooler) -> tuple[PlantRequest, threading.Event | None]:
    """The pooler's running plant request, or a new one started in the background."""
    abandoned_before = datetime.now(timezone.utc) - timedelta(seconds=ABANDONED_SECONDS)
    with database.atomic():
        Pooler.select().where(Pooler.id == pooler.id).for_update().get()  # one start at a time per pooler
        running = (PlantRequest.select().where(PlantRequest.pooler == pooler.id, PlantRequest.status == "running",
                                               PlantRequest.created_at > abandoned_before)
                   .order_by(PlantRequest.id.desc()).first())
        if running is not None:
            return running, None
        row = PlantRequest.create(pooler=pooler.id)
    done = threading.Event()
    threading.Thread(target=_plant_in_background, name=f"plant-request-{row.id}", daemon=True,
                     args=(services().pool.planter, pooler.id, row.id, done)).start()
    return row, done


def _wait(row: PlantRequest, done: threading.Event | None, seconds: float) -> PlantRequest:
    """The request once finished, or as it is after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        row = PlantRequest.get_by_id(row.id)
        left = deadline - time.monotonic()
        if row.status != "running" or left <= 0:
            return row
        if done is not None:
            done.wait(min(left, 1.0))
        else:
            time.sleep(min(left, 0.25))


def _plant_outcome(row: PlantRequest, expected_block: int | None = None) -> tuple[Response, int, dict[str, str]]:
    """200 with the answer, 202 while it runs, or the failure as a JSON error."""
    poll = f"/api/v1/pooler/plant-requests/{row.id}"
    if row.status == "running" and row.created_at < datetime.now(timezone.utc) - timedelta(seconds=ABANDONED_SECONDS):
        raise ApiError(503, "plant_interrupted", "the planting was interrupted; ask again",
                       {"Retry-After": str(RETRY_AFTER_SECONDS)})
    if row.status == "running":
        return (jsonify({"request_id": row.id, "status": "running", "poll": poll}), 202,
                {"Location": poll, "Retry-After": str(POLL_SECONDS)})
    if row.status == "failed":
        status, message = _FAILURES.get(row.error_code, _FAILURES["internal_error"])
        raise ApiError(status, row.error_code or "internal_error", message,
                       {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None)
    answer = dict(row.answer)
    services().pool.planter.announce(row.pooler, answer)
    block = answer.get("block")
    if expected_block is not None and block and block["index"] != expected_block:
        answer["note"] = f"the open block is {block['index']}, not {expected_block}"
    return jsonify(answer), 200, {}


@operation(blueprint, "POST", "/pooler/plant-request",
           "Plant every active farmer of the calling pooler in the open block", tag="poolers",
           roles=("pooler",), body="PlantRequest",
           responses={200: "the block (index, entropy) and, per farmer, planted, pending or failed with a reason",
                      202: f"still planting after {PLANT_ANSWER_SECONDS:g} s: poll the Location it gives"},
           response={200: "PlantAnswer", 202: "PlantRunning"})
def plant_request(principal: Principal, body: Any) -> tuple[Response, int, dict[str, str]]:
    row, done = _start_or_join(principal.row)
    return _plant_outcome(_wait(row, done, PLANT_ANSWER_SECONDS), body.block_index)


@operation(blueprint, "GET", "/pooler/plant-requests/<int:request_id>",
           "The outcome of one of the calling pooler's plant requests", tag="poolers", roles=("pooler",),
           responses={200: "the answer, as POST /pooler/plant-request gives it", 202: "still planting",
                      404: "no such plant request of this pooler"}, response={200: "PlantAnswer", 202: "PlantRunning"})
def get_plant_request(principal: Principal, request_id: int) -> tuple[Response, int, dict[str, str]]:
    row = None if request_id > BIGINT_MAX else PlantRequest.get_or_none(PlantRequest.id == request_id,
                                                                         PlantRequest.pooler == principal.id)
    if row is None:
        raise ApiError(404, "not_found", f"no plant request {request_id} of this pooler")
    return _plant_outcome(row)


@operation(blueprint, "POST", "/pooler/work-complete",
           "Report the work submitted for planted farmers; the pool verifies each item", tag="poolers",
           roles=("pooler",), body="WorkReport",
           responses={200: "accepted items (zeros, gap) and rejected items with a reason"}, response="WorkVerdict")
def work_complete(principal: Principal, body: Any) -> Response:
    return jsonify(verify_report(services().chain, principal.row, body.results))


def _statement(farmer: Farmer) -> dict[str, Any]:
    found = settlement_statement(farmer)
    if found is None:
        raise ApiError(404, "not_found", "no settlement yet: POST /api/v1/farmers/me/exit first")
    return found


@operation(blueprint, "GET", "/farmers/me/settlement", "The calling farmer's exit settlement statement: per "
           "pooler period every pail, reward and compensation, and every payout attempt",
           tag="farmers", roles=("farmer",), responses={404: "no settlement yet"}, response="Settlement")
def get_my_settlement(principal: Principal) -> Response:
    return jsonify(_statement(principal.row))


@operation(blueprint, "GET", "/farmers/me/settlement.csv", "The calling farmer's settlement statement (CSV)",
           tag="farmers", roles=("farmer",), responses={404: "no settlement yet"}, produces="text/csv")
def get_my_settlement_csv(principal: Principal) -> Response:
    return Response(settlement_statement_csv(_statement(principal.row)), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="settlement-{principal.id}.csv"'})


def _compensation_view(row: Compensation) -> dict[str, Any]:
    return {"farmer_id": row.farmer_id, "pooler_id": row.pooler_id, "block_index": row.block_index,
            "amount": row.amount, "reason": row.reason, "settlement_id": row.settlement_id}


@operation(blueprint, "GET", "/farmers/me/compensations",
           "Stakes the calling farmer lost to unworked pails, owed by its pooler", tag="farmers",
           roles=("farmer",), response="Compensations")
def get_my_compensations(principal: Principal) -> Response:
    rows = Compensation.select().where(Compensation.farmer == principal.row.id).order_by(Compensation.id)
    return jsonify({"compensations": [_compensation_view(r) for r in rows],
                    "total": sum(r.amount for r in rows)})


@operation(blueprint, "GET", "/pooler/compensations",
           "Stakes the calling pooler owes its farmers for pails it did not work", tag="poolers",
           roles=("pooler",), response="Compensations")
def get_pooler_compensations(principal: Principal) -> Response:
    rows = (Compensation.select().join(Farmer).where(Compensation.pooler == principal.row.id)
            .order_by(Compensation.id))
    return jsonify({"compensations": [_compensation_view(r) for r in rows],
                    "total": sum(r.amount for r in rows)})
