"""Endpoints that move money or report on it: the pooler's plant request and work report,
the farmer's settlement statement, and the compensations poolers owe farmers."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from db.models import Compensation, Farmer
from jobs.statement import statement, statement_csv
from jobs.work import verify_report
from web.api import operation
from web.auth import Principal
from web.errors import ApiError
from web.services import services

blueprint = Blueprint("pool_actions", __name__)


@operation(blueprint, "POST", "/pooler/plant-request",
           "Plant every active farmer of the calling pooler in the open block", tag="poolers",
           roles=("pooler",), body="PlantRequest",
           responses={200: "the block (index, entropy) and, per farmer, planted or failed with a reason"})
def plant_request(principal: Principal, body: Any) -> Response:
    answer = services().pool.planter.plant_for(principal.row)
    if body.block_index is not None and answer["block"] and answer["block"]["index"] != body.block_index:
        answer["note"] = f"the open block is {answer['block']['index']}, not {body.block_index}"
    return jsonify(answer)


@operation(blueprint, "POST", "/pooler/work-complete",
           "Report the work submitted for planted farmers; the pool verifies each item", tag="poolers",
           roles=("pooler",), body="WorkReport",
           responses={200: "accepted items (zeros, gap) and rejected items with a reason"})
def work_complete(principal: Principal, body: Any) -> Response:
    return jsonify(verify_report(services().chain, principal.row, body.results))


def _statement(farmer: Farmer) -> dict[str, Any]:
    found = statement(farmer)
    if found is None:
        raise ApiError(404, "not_found", "no settlement yet: POST /api/v1/farmers/me/exit first")
    return found


@operation(blueprint, "GET", "/farmers/me/settlement", "The calling farmer's exit settlement statement: per "
           "pooler period every pail, reward and compensation, and every payout attempt",
           tag="farmers", roles=("farmer",), responses={404: "no settlement yet"})
def get_my_settlement(principal: Principal) -> Response:
    return jsonify(_statement(principal.row))


@operation(blueprint, "GET", "/farmers/me/settlement.csv", "The calling farmer's settlement statement (CSV)",
           tag="farmers", roles=("farmer",), responses={404: "no settlement yet"}, produces="text/csv")
def get_my_settlement_csv(principal: Principal) -> Response:
    return Response(statement_csv(_statement(principal.row)), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="settlement-{principal.id}.csv"'})


def _compensation_view(row: Compensation) -> dict[str, Any]:
    return {"farmer_id": row.farmer_id, "pooler_id": row.pooler_id, "block_index": row.block_index,
            "amount": row.amount, "reason": row.reason, "settlement_id": row.settlement_id}


@operation(blueprint, "GET", "/farmers/me/compensations",
           "Stakes the calling farmer lost to unworked pails, owed by its pooler", tag="farmers",
           roles=("farmer",))
def get_my_compensations(principal: Principal) -> Response:
    rows = Compensation.select().where(Compensation.farmer == principal.row.id).order_by(Compensation.id)
    return jsonify({"compensations": [_compensation_view(r) for r in rows],
                    "total": sum(r.amount for r in rows)})


@operation(blueprint, "GET", "/pooler/compensations",
           "Stakes the calling pooler owes its farmers for pails it did not work", tag="poolers",
           roles=("pooler",))
def get_pooler_compensations(principal: Principal) -> Response:
    rows = (Compensation.select().join(Farmer).where(Compensation.pooler == principal.row.id)
            .order_by(Compensation.id))
    return jsonify({"compensations": [_compensation_view(r) for r in rows],
                    "total": sum(r.amount for r in rows)})
