"""Auditor endpoints: discrepancies between pool records and the chain, a farmer's statement
and KALE ledger recomputed from chain rows alone (JSON, CSV), and a block as the chain
recorded it next to the pool's records of it."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Blueprint, Response, jsonify

from chain.kale import U32_MAX
from db.chain_models import Discrepancy, open_discrepancies
from db.connection import database
from db.models import Farmer
from db.chain_statement import LEDGER_COLUMNS, chain_statement, kale_ledger
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


# The block page's rows as JSON built by PostgreSQL (a block holds a pail per pool farmer: thousands
# of rows, which Python would turn into objects and back into text one by one).
_BLOCK_POOL_ROWS = {
    "plantings": ("plantings", "'farmer_id', farmer_id, 'stake', amount, 'tx_hash', tx_hash, 'ledger', ledger"),
    "works": ("works", "'farmer_id', farmer_id, 'zeros', zeros, 'gap', gap, 'hash', encode(hash, 'hex'), "
                       "'tx_hash', tx_hash"),
    "harvests": ("harvests", "'farmer_id', farmer_id, 'reward', reward, 'tx_hash', tx_hash, 'ledger', ledger"),
    "compensations": ("compensations", "'farmer_id', farmer_id, 'amount', amount, 'reason', reason"),
}
_BLOCK_JSON = "SELECT " + ", ".join(
    [f"(SELECT coalesce(json_agg(c ORDER BY c.ledger, c.application_order), '[]')::text FROM "
     f"(SELECT {', '.join(_CHAIN_FIELDS)} FROM chain_transactions WHERE block_index = %(index)s) AS c)"]
    + [f"(SELECT coalesce(json_agg(json_build_object({fields}) ORDER BY id), '[]')::text FROM {table} "
       f"WHERE block_index = %(index)s)" for table, fields in _BLOCK_POOL_ROWS.values()])


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
           tag=TAG, roles=AUDITORS, query="Page", response="Discrepancies")
def list_discrepancies(principal: Principal, query: Any) -> Response:
    rows = Discrepancy.select().order_by(Discrepancy.id.desc()).limit(query.limit).offset(query.offset)
    return jsonify({"discrepancies": [discrepancy_view(row) for row in rows], "open": open_discrepancies(),
                    "total": Discrepancy.select().count(), "limit": query.limit, "offset": query.offset})


@operation(blueprint, "GET", "/audit/farmers/<int:farmer_id>/statement",
           "A farmer's statement recomputed from chain rows alone (optionally only the blocks planted "
           "in from_ledger..to_ledger), with its open discrepancies",
           tag=TAG, roles=AUDITORS, query="LedgerRange", responses={404: "no such farmer"}, response="ChainStatement")
def farmer_statement(principal: Principal, farmer_id: int, query: Any) -> Response:
    farmer = _farmer(farmer_id)
    return jsonify({**chain_statement(farmer, query.from_ledger, query.to_ledger),
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
           tag=TAG, roles=AUDITORS, responses={404: "not a block index"}, response="BlockRecord")
def block_record(principal: Principal, index: int) -> Response:
    if index > U32_MAX:
        raise ApiError(404, "not_found", f"{index} is not a block index (at most {U32_MAX})")
    chain, *pool = database.execute_sql(_BLOCK_JSON, {"index": index}).fetchone()
    parts = dict(zip(_BLOCK_POOL_ROWS, pool))
    body = (f'{{"block_index": {index}, "chain": {chain}, "pool": {{'
            + ", ".join(f'"{name}": {rows}' for name, rows in parts.items())
            + f'}}, "discrepancies": {json.dumps(_open_for(block_index=index))}}}')
    return Response(body, content_type="application/json")
