"""Auth boundaries: each role sees and changes only what it may; tokens are hashed and prefixed."""
import pytest

from db.models import Auditor, Farmer, Pooler

FARMER_WRITES = [("PATCH", "/api/v1/farmers/me", {"stake_bps": 1}),
                 ("POST", "/api/v1/farmers/me/exit", None),
                 ("POST", "/api/v1/farmers/me/activate", None)]
FARMER_READS = ["/api/v1/farmers/me", "/api/v1/farmers/me/history"]
POOLER_READS = ["/api/v1/pooler/me", "/api/v1/pooler/farmers"]
PROTECTED = [("GET", path, None) for path in FARMER_READS + POOLER_READS + ["/api/v1/farmers"]] + FARMER_WRITES


def _call(client, method, path, body, headers):
    return client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize("method,path,body", PROTECTED)
def test_protected_endpoints_refuse_callers_without_a_token(client, method, path, body):
    response = _call(client, method, path, body, {})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer kpf_" + "A" * 43, "Bearer kpx_" + "A" * 43, "Bearer short",
                                    "Basic dXNlcjpwYXNz", "Bearer", "kpf_" + "A" * 43])
def test_unknown_or_malformed_tokens_are_refused(client, farmer, header):
    response = client.get("/api/v1/farmers/me", headers={"Authorization": header})
    assert response.status_code == 401


@pytest.mark.parametrize("method,path,body", FARMER_WRITES)
def test_an_auditor_writes_nothing(client, auditor, farmer, method, path, body):
    before = Farmer.get_by_id(farmer.id)
    response = _call(client, method, path, body, auditor.headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    after = Farmer.get_by_id(farmer.id)
    assert (after.status, after.stake_bps) == (before.status, before.stake_bps)


@pytest.mark.parametrize("method,path,body", FARMER_WRITES)
def test_a_pooler_cannot_act_as_a_farmer(client, pooler, farmer, method, path, body):
    assert _call(client, method, path, body, pooler.headers).status_code == 403


@pytest.mark.parametrize("path", POOLER_READS)
def test_farmers_and_auditors_cannot_use_pooler_endpoints(client, farmer, auditor, path):
    assert client.get(path, headers=farmer.headers).status_code == 403
    assert client.get(path, headers=auditor.headers).status_code == 403


def test_only_auditors_list_every_farmer(client, farmer, pooler, auditor):
    assert client.get("/api/v1/farmers", headers=farmer.headers).status_code == 403
    assert client.get("/api/v1/farmers", headers=pooler.headers).status_code == 403
    listing = client.get("/api/v1/farmers", headers=auditor.headers).get_json()
    assert [f["farmer_id"] for f in listing["farmers"]] == [farmer.id] and listing["total"] == 1


def test_a_farmer_reads_only_itself(client, make_farmer):
    first, second = make_farmer(), make_farmer()
    assert client.get(f"/api/v1/farmers/{first.id}", headers=first.headers).status_code == 200
    for path in (f"/api/v1/farmers/{second.id}", f"/api/v1/farmers/{second.id}/history"):
        response = client.get(path, headers=first.headers)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_pooler_reads_only_its_own_farmers_and_never_their_keys(client, make_pooler, make_farmer):
    mine, theirs = make_pooler(), make_pooler()
    my_farmer, their_farmer = make_farmer(pooler_id=mine.id), make_farmer(pooler_id=theirs.id)
    view = client.get(f"/api/v1/farmers/{my_farmer.id}", headers=mine.headers)
    assert view.status_code == 200
    assert set(view.get_json()) == {"farmer_id", "custodial_address", "stake_bps", "harvest_interval_blocks",
                                    "status"}
    assert client.get(f"/api/v1/farmers/{their_farmer.id}", headers=mine.headers).status_code == 404
    assert client.get(f"/api/v1/farmers/{their_farmer.id}/history", headers=mine.headers).status_code == 404


def test_an_auditor_reads_any_farmer_and_its_history(client, auditor, farmer):
    assert client.get(f"/api/v1/farmers/{farmer.id}", headers=auditor.headers).get_json()["farmer_id"] == farmer.id
    assert client.get(f"/api/v1/farmers/{farmer.id}/history", headers=auditor.headers).status_code == 200


def test_a_farmer_changes_only_itself(client, make_farmer):
    first, second = make_farmer(), make_farmer()
    client.patch("/api/v1/farmers/me", json={"stake_bps": 1}, headers=first.headers)
    assert Farmer.get_by_id(second.id).stake_bps == 5000 and Farmer.get_by_id(first.id).stake_bps == 1


def test_tokens_are_prefixed_by_role_and_stored_only_as_hashes(farmer, pooler, auditor):
    assert (farmer.token[:4], pooler.token[:4], auditor.token[:4]) == ("kpf_", "kpp_", "kpa_")
    stored = [row.api_token_hash for row in Farmer.select()] + [row.api_key_hash for row in Pooler.select()] \
        + [row.token_hash for row in Auditor.select()]
    assert all(len(value) == 64 for value in stored)
    assert not {farmer.token, pooler.token, auditor.token} & set(stored)
