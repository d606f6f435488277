"""Real responses match the schemas the OpenAPI document gives them: every documented GET route is
called by each role it admits, on a fresh pool and on a pool that has farmed, compensated and settled,
and each body is validated against the schema documented for its status. The response models forbid
unknown fields, so a field added, dropped or retyped without its schema fails here."""
from __future__ import annotations

import re
from typing import Callable

import jsonschema_rs

from chain.kale import STROOPS_PER_KALE
from db.chain_models import Discrepancy
from db.models import Compensation, Farmer, PlantRequest
from tests.test_api_pooler_console import exit_farmer, plant_leaving_one_unworked
from web.api import OPERATIONS, Operation

GETS = [op for op in OPERATIONS if op.method == "GET" and op.produces == "application/json"]
Get = Callable[[str, "str | None"], "tuple[int, object]"]


def documented(spec: dict, op: Operation, status: int) -> jsonschema_rs.Validator:
    """A validator for the body the document promises for `op` answering `status`."""
    responses = spec["paths"][op.path][op.method.lower()]["responses"]
    assert str(status) in responses, f"{op.method} {op.path} answered an undocumented {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]}, validate_formats=True)


def check_every_get(get: Get, tokens: dict[str, str], ids: dict[str, int]) -> set[tuple[str, str]]:
    """Call every documented GET route as each role it admits; assert each body matches its schema.
    Returns the (role, path) pairs that answered 2xx."""
    status, spec = get("/api/v1/openapi.json", None)
    assert status == 200
    succeeded = set()
    for op in GETS:
        path = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), op.path)
        for role in op.roles or (None,):
            status, body = get(path, tokens[role] if role else None)
            errors = [f"/{'/'.join(map(str, error.instance_path))}: {error.message}"
                      for error in documented(spec, op, status).iter_errors(body)]
            assert not errors, f"GET {path} as {role}: {status} does not match its schema: {errors[:5]}"
            if status < 300:
                succeeded.add((role, op.path))
    return succeeded


def test_responses_of_a_fresh_pool_match_their_documented_schemas(client, farmer, pooler, auditor):
    def get(path: str, token: str | None) -> tuple[int, object]:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
        return response.status_code, response.get_json()

    tokens = {"farmer": farmer.token, "pooler": pooler.token, "auditor": auditor.token}
    succeeded = check_every_get(get, tokens, {"farmer_id": farmer.id, "request_id": 1, "index": 1})
    assert ("farmer", "/api/v1/farmers/me") in succeeded and (None, "/api/v1/health") not in succeeded  # 503


def test_responses_of_a_pool_that_farmed_and_settled_match_their_documented_schemas(pool_harness):
    harness = pool_harness
    pooler = harness.new_pooler()
    creditor = harness.new_farmer(pooler, kale=1_000 * STROOPS_PER_KALE)
    payer = harness.new_farmer(pooler, kale=10 * STROOPS_PER_KALE)
    stayer = harness.new_farmer(pooler)
    plant_leaving_one_unworked(harness, pooler, creditor)  # a compensation, then a debt
    exit_farmer(harness, creditor)
    harness.close_block(pooler)
    harness.settle(creditor.id)
    exit_farmer(harness, payer)
    harness.close_block(pooler)
    harness.settle(payer.id)  # collects the debt
    status = harness.api("POST", "/pooler/status", token=pooler.api_key, json={"agent": "rig", "hash_rate": 5})
    assert status.status_code == 200
    block = PlantRequest.select().where(PlantRequest.status == "done").first()
    Discrepancy.create(fingerprint="schemas", kind="reward_mismatch", farmer=stayer.id,
                       block_index=block.answer["block"]["index"], pool_side={"reward": 1}, chain_side={"reward": 2})
    assert Compensation.select().count() and Farmer.get_by_id(payer.id).status == "departed"
    _, auditor = _auditor()

    def get(path: str, token: str | None) -> tuple[int, object]:
        response = harness.api("GET", path.removeprefix("/api/v1"), token=token)
        return response.status_code, response.json()

    ids = {"farmer_id": creditor.id, "request_id": block.id, "index": block.answer["block"]["index"]}
    for farmer in (creditor, payer, stayer):
        tokens = {"farmer": farmer.token, "pooler": pooler.api_key, "auditor": auditor}
        succeeded = check_every_get(get, tokens, {**ids, "farmer_id": farmer.id})
        assert {("farmer", "/api/v1/farmers/me/history"), ("auditor", "/api/v1/audit/blocks/{index}"),
                ("pooler", "/api/v1/pooler/plant-requests/{request_id}")} <= succeeded
        assert (("farmer", "/api/v1/farmers/me/settlement") in succeeded) == (farmer is not stayer)


def _auditor() -> tuple[object, str]:
    from web.accounts import create_auditor

    return create_auditor("schemas")


def test_every_json_success_response_is_a_named_model(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    untyped = [(op.method, op.path, status) for op in OPERATIONS if op.produces == "application/json"
               for status, response in paths[op.path][op.method.lower()]["responses"].items()
               if int(status) < 300 and "$ref" not in response["content"]["application/json"]["schema"]]
    assert untyped == []
