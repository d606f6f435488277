"""Auditor endpoints: discrepancies between pool records and the chain, a farmer's statement
and KALE ledger recomputed from chain rows alone (JSON, CSV), and a block as the chain
recorded it next to the pool's records of it."""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, jsonify

from chain.kale import U32_MAX
from db.chain_models import ChainTransaction, Discrepancy, open_discrepancies
from db.models import Compensation, Farmer, Harvest, Planting, Work
from db.chain_statement import LEDGER_COLUMNS, kale_ledger, statement
from web.api import operation
from web.auth import Principal
from web.errors import ApiError
from web.presenters import timestamp
from web.validation import BIGINT_MAX

blueprint = Blueprint("audit", __name__)
TAG = "audit"
AUDITORS = ("auditor",)

_CHAIN_FIELDS = ("hash", "ledger", "application_order", "close_time", "source", "successful", "result_code",
                 "kind", "function", "args", "return_value", "contract_error", "farmer", "block_index", "stake",
                 "stake_burned", "nonce", "work_hash", "zeros", "gap", "reward", "amount_minted")


def discrepancy_view(row: Discrepancy) -> dict[str, Any]:
    """A discrepancy with both sides, as auditors see it."""
    return {"id": row.id, "kind": row.kind, "farmer_id": row.farmer_id, "block_index": row.block_index,
            "pool_side": row.pool_side, "chain_side": row.chain_side, "detected_at": timestamp(row.detected_at),
            "resolved_at": timestamp(row.resolved_at), "resolution": row.resolution}


def _farmer(farmer_id: int) -> Farmer:
    farmer = Farmer.get_or_none(Farmer.id == farmer_id) if farmer_id <= BIGINT_MAX else None
    if farmer is None:
        raise ApiError(404, "not_found", f"no farmer with id {farmer_id}")
    return farmer


def _open_for(**where: Any) -> list[dict[str, Any]]:
    query = Discrepancy.select().where(Discrepancy.resolved_at.is_null()).order_by(Discrepancy.id)
    for name, value in where.items():
        query = query.where(getattr(Discrepancy, name) == value)
    return [discrepancy_view(row) for row in query]


@operation(blueprint, "GET", "/audit/discrepancies", "Discrepancies between pool records and the chain, newest first",
           tag=TAG, roles=AUDITORS, query="Page")
def list_discrepancies(principal: Principal, query: Any) -> Response:
    rows = Discrepancy.select().order_by(Discrepancy.id.desc()).limit(query.limit).offset(query.offset)
    return jsonify({"discrepancies": [discrepancy_view(row) for row in rows], "open": open_discrepancies(),
                    "total": Discrepancy.select().count(), "limit": query.limit, "offset": query.offset})


@operation(blueprint, "GET", "/audit/farmers/<int:farmer_id>/statement",
           "A farmer's statement recomputed from chain rows alone (optionally only the blocks planted "
           "in from_ledger..to_ledger), with its open discrepancies",
           tag=TAG, roles=AUDITORS, query="LedgerRange", responses={404: "no such farmer"})
def farmer_statement(principal: Principal, farmer_id: int, query: Any) -> Response:
    farmer = _farmer(farmer_id)
    return jsonify({**statement(farmer, query.from_ledger, query.to_ledger),
                    "discrepancies": _open_for(farmer_id=farmer.id)})


@operation(blueprint, "GET", "/audit/farmers/<int:farmer_id>/ledger.csv",
           "A farmer's KALE ledger from chain rows: every movement, its cause and the running balance (CSV)",
           tag=TAG, roles=AUDITORS, responses={404: "no such farmer"}, produces="text/csv")
def farmer_ledger_csv(principal: Principal, farmer_id: int) -> Response:
    farmer = _farmer(farmer_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LEDGER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kale_ledger(farmer))
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="farmer-{farmer.id}-kale-ledger.csv"'})


@operation(blueprint, "GET", "/audit/blocks/<int:index>",
           "A block as the chain recorded it (plants, works, harvests) next to the pool's records of it",
           tag=TAG, roles=AUDITORS, responses={404: "not a block index"})
def block_record(principal: Principal, index: int) -> Response:
    if index > U32_MAX:
        raise ApiError(404, "not_found", f"{index} is not a block index (at most {U32_MAX})")
    chain = [{field: getattr(row, field) for field in _CHAIN_FIELDS}
             for row in ChainTransaction.select().where(ChainTransaction.block_index == index)
             .order_by(ChainTransaction.ledger, ChainTransaction.application_order)]
    pool = {
        "plantings": [{"farmer_id": p.farmer_id, "stake": p.amount, "tx_hash": p.tx_hash, "ledger": p.ledger}
                      for p in Planting.select().where(Planting.block_index == index).order_by(Planting.id)],
        "works": [{"farmer_id": w.farmer_id, "zeros": w.zeros, "gap": w.gap, "hash": bytes(w.hash).hex(),
                   "tx_hash": w.tx_hash} for w in Work.select().where(Work.block_index == index).order_by(Work.id)],
        "harvests": [{"farmer_id": h.farmer_id, "reward": h.reward, "tx_hash": h.tx_hash, "ledger": h.ledger}
                     for h in Harvest.select().where(Harvest.block_index == index).order_by(Harvest.id)],
        "compensations": [{"farmer_id": c.farmer_id, "amount": c.amount, "reason": c.reason}
                          for c in Compensation.select().where(Compensation.block_index == index)
                          .order_by(Compensation.id)],
    }
    return jsonify({"block_index": index, "chain": chain, "pool": pool,
                    "discrepancies": _open_for(block_index=index)})
