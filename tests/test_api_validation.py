"""Input validation: every bad body gets a 4xx naming the field, and changes nothing."""
import json

import pytest
from stellar_sdk import Keypair

from db.models import Farmer

GOOD_ADDRESS = Keypair.random().public_key
BAD_CHECKSUM = GOOD_ADDRESS[:-1] + ("A" if GOOD_ADDRESS[-1] != "A" else "B")


def _valid(pooler_id):
    return {"payout_address": GOOD_ADDRESS, "pooler_id": pooler_id, "stake_bps": 5000}


@pytest.mark.parametrize("change,code,field", [
    ({"extra": 1}, "unknown_field", "extra"),
    ({"stake_bps": 10001}, "invalid_field", "stake_bps"),
    ({"stake_bps": -1}, "invalid_field", "stake_bps"),
    ({"stake_bps": "5000"}, "invalid_field", "stake_bps"),
    ({"stake_bps": 50.0}, "invalid_field", "stake_bps"),
    ({"stake_bps": True}, "invalid_field", "stake_bps"),
    ({"stake_bps": None}, "invalid_field", "stake_bps"),
    ({"harvest_interval_blocks": 0}, "invalid_field", "harvest_interval_blocks"),
    ({"harvest_interval_blocks": 289}, "invalid_field", "harvest_interval_blocks"),
    ({"payout_address": BAD_CHECKSUM}, "invalid_field", "payout_address"),
    ({"payout_address": "G" + "A" * 10}, "invalid_field", "payout_address"),
    ({"payout_address": Keypair.random().secret}, "invalid_field", "payout_address"),
    ({"payout_address": 12}, "invalid_field", "payout_address"),
    ({"pooler_id": 2**63}, "invalid_field", "pooler_id"),
    ({"pooler_id": 0}, "invalid_field", "pooler_id"),
])
def test_bad_registration_fields_are_refused_by_name(client, pooler, change, code, field):
    response = client.post("/api/v1/farmers", json={**_valid(pooler.id), **change})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"].startswith(field)
    assert Farmer.select().count() == 0


@pytest.mark.parametrize("missing", ["payout_address", "pooler_id", "stake_bps"])
def test_missing_registration_fields_are_named(client, pooler, missing):
    body = _valid(pooler.id)
    del body[missing]
    error = client.post("/api/v1/farmers", json=body).get_json()["error"]
    assert error == {"code": "missing_field", "message": f"{missing}: required"}


def test_the_harvest_interval_is_bounded_by_the_pails_lifetime(client, pooler, api_settings):
    top = api_settings.max_harvest_interval_blocks
    assert top < 288  # pails live ~288 blocks (24 h): a longer interval would let them expire
    assert client.post("/api/v1/farmers", json={**_valid(pooler.id), "harvest_interval_blocks": top}).status_code == 201
    assert client.post("/api/v1/farmers", json={**_valid(pooler.id),
                                                "harvest_interval_blocks": top + 1}).status_code == 400


@pytest.mark.parametrize("raw,content_type,status", [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b'{"stake_bps": NaN}', "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"stake_bps=1", "application/x-www-form-urlencoded", 415),
    (b'{"stake_bps": 1}', "text/plain", 415),
])
def test_non_json_bodies_are_refused(client, farmer, raw, content_type, status):
    response = client.patch("/api/v1/farmers/me", data=raw, content_type=content_type, headers=farmer.headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] in ("not_json", "invalid_body")
    assert Farmer.get_by_id(farmer.id).stake_bps == 5000


def test_oversize_bodies_are_refused(client, farmer, api_settings):
    raw = json.dumps({"stake_bps": 1, "pad": "x" * api_settings.api_max_body_bytes}).encode()
    response = client.patch("/api/v1/farmers/me", data=raw, content_type="application/json", headers=farmer.headers)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"
    assert Farmer.get_by_id(farmer.id).stake_bps == 5000


@pytest.mark.parametrize("change,field", [({"stake_bps": 10001}, "stake_bps"), ({"payout_address": GOOD_ADDRESS},
                                          "payout_address"), ({"status": "active"}, "status"),
                                          ({"pooler_id": "1"}, "pooler_id")])
def test_bad_updates_change_nothing(client, farmer, change, field):
    response = client.patch("/api/v1/farmers/me", json=change, headers=farmer.headers)
    assert response.status_code == 400 and response.get_json()["error"]["message"].startswith(field)
    row = Farmer.get_by_id(farmer.id)
    assert (row.stake_bps, row.status, row.payout_address) == (5000, "awaiting_funding", farmer.data["payout_address"])


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
                                         ("offset=-1", "offset"), ("kind=bribe", "kind"), ("page=2", "page"),
                                         ("limit=1&limit=2", "limit")])
def test_bad_query_parameters_are_named(client, farmer, query, field):
    response = client.get(f"/api/v1/farmers/me/history?{query}", headers=farmer.headers)
    assert response.status_code == 400 and response.get_json()["error"]["message"].startswith(field)


def test_unknown_query_parameters_are_refused_everywhere(client):
    response = client.get("/api/v1/poolers?sort=name")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "unknown_field"


def test_an_empty_body_is_fine_where_nothing_is_required(client, farmer):
    assert client.post("/api/v1/farmers/me/exit", headers=farmer.headers).status_code == 202


def test_unknown_fields_in_an_action_body_are_refused(client, farmer):
    response = client.post("/api/v1/farmers/me/exit", json={"now": True}, headers=farmer.headers)
    assert response.status_code == 400 and Farmer.get_by_id(farmer.id).status == "awaiting_funding"


def test_huge_path_ids_are_not_found_not_errors(client, auditor):
    assert client.get(f"/api/v1/farmers/{2**70}", headers=auditor.headers).status_code == 404


def test_unknown_routes_and_methods_answer_in_the_error_shape(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/farmers/me")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"
