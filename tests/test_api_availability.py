"""The served API stays a well-behaved JSON API when bodies are hostile and services go down."""
from __future__ import annotations

import pytest
import requests

from tests.served_api import served_api, stoppable_postgres

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def served(postgres, db, tmp_path):
    with served_api(postgres, tmp_path / "state") as base:
        yield base


def test_deeply_nested_json_is_a_400_on_every_endpoint_with_a_body(served, farmer, pooler):
    calls = [("POST", "/farmers", None), ("PATCH", "/farmers/me", farmer), ("POST", "/farmers/me/activate", farmer),
             ("POST", "/farmers/me/exit", farmer), ("POST", "/pooler/plant-request", pooler),
             ("POST", "/pooler/work-complete", pooler)]
    for method, path, caller in calls:
        for body in (DEEP, '{"results": [' + "[" * 40 + "]" * 40 + "]}"):
            response = requests.request(method, served + path, data=body, timeout=30,
                                        headers={"Content-Type": "application/json",
                                                 **(caller.headers if caller else {})})
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"]["code"] == "too_deep"


def test_rpc_unreachable_is_a_503_with_retry_after_on_pooler_requests(served, pooler, farmer):
    from db.models import Planting

    Planting.create(farmer=farmer.id, pooler=pooler.id, block_index=1, amount=0)  # a report the pool must check
    item = {"farmer": farmer.data["custodial_address"], "block_index": 1, "nonce": 1, "hash": "00" * 32}
    for path, body in (("/pooler/plant-request", {}), ("/pooler/work-complete", {"results": [item]})):
        response = requests.post(served + path, json=body, headers=pooler.headers, timeout=60)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "rpc_unavailable"
        assert int(response.headers["Retry-After"]) >= 1


def test_a_database_outage_is_503_and_the_first_request_after_recovery_succeeds(tmp_path):
    from db.connection import init_database
    from web.accounts import create_auditor

    with stoppable_postgres() as cluster:
        init_database(cluster.url)
        _, token = create_auditor("outage")
        headers = {"Authorization": f"Bearer {token}"}
        with served_api(cluster.url, tmp_path / "state", workers=1) as base:
            for _ in range(8):  # every pooled connection of the worker has been used
                assert requests.get(f"{base}/farmers", headers=headers, timeout=30).status_code == 200
            cluster.stop()
            for path in ("/farmers", "/poolers", "/health"):
                down = requests.get(base + path, headers=headers, timeout=30)
                assert down.status_code == 503, (path, down.text)
                assert int(down.headers["Retry-After"]) >= 1
                assert down.json()["database" if path == "/health" else "error"] != "ok"
            cluster.start()
            answers = [requests.get(f"{base}/farmers", headers=headers, timeout=30).status_code for _ in range(8)]
            assert answers == [200] * 8


def test_pooled_connections_from_before_a_database_restart_are_never_handed_to_a_request(tmp_path):
    from db.connection import init_database
    from web.accounts import create_auditor

    with stoppable_postgres() as cluster:
        init_database(cluster.url)
        _, token = create_auditor("restart")
        headers = {"Authorization": f"Bearer {token}"}
        with served_api(cluster.url, tmp_path / "state", workers=1) as base:
            assert requests.get(f"{base}/farmers", headers=headers, timeout=30).status_code == 200
            cluster.stop()
            cluster.start()  # nobody asked while it was down: the pooled connection is stale
            answers = [requests.get(f"{base}/farmers", headers=headers, timeout=30).status_code for _ in range(4)]
            assert answers == [200] * 4
