"""Service endpoints: health, info, the OpenAPI description, Prometheus metrics, rate limits."""
import pytest

from web.api import OPERATIONS
from web.app import create_app


def test_health_reports_the_database_and_an_unreachable_rpc(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "ok" and response.get_json()["rpc"].startswith("unreachable")


def test_info_names_the_network_and_its_contracts(client, api_settings):
    info = client.get("/api/v1/info").get_json()
    assert info["network"] == "devnet" and info["farm_contract"] == api_settings.network.farm_contract
    assert info["kale_sac"] == api_settings.network.kale_sac and info["version"]


def test_openapi_describes_every_endpoint_with_its_validation_rules(client, api_settings):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    described = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert described == {(op.method, op.path) for op in OPERATIONS}
    create = spec["components"]["schemas"]["FarmerCreate"]
    assert create["additionalProperties"] is False
    assert create["properties"]["stake_bps"]["maximum"] == 10_000
    assert create["properties"]["harvest_interval_blocks"]["maximum"] == api_settings.max_harvest_interval_blocks
    assert spec["paths"]["/api/v1/farmers/me"]["get"]["security"] == [{"bearer": []}]


def test_metrics_count_requests_and_report_pool_state(client, farmer):
    client.get("/api/v1/farmers/me", headers=farmer.headers)
    text = client.get("/api/v1/metrics").get_data(as_text=True)
    assert 'kalepool_api_requests_total{endpoint="/api/v1/farmers/me",method="GET",status="200"}' in text
    assert 'kalepool_farmers{status="awaiting_funding"} 1.0' in text


def test_an_open_discrepancy_raises_the_alarm_metric(client, farmer):
    from db.chain_models import Discrepancy

    Discrepancy.create(fingerprint="test", kind="reward_mismatch", farmer=farmer.id, block_index=3)
    text = client.get("/api/v1/metrics").get_data(as_text=True)
    assert 'kalepool_discrepancies_open{kind="reward_mismatch"} 1.0' in text


@pytest.fixture
def strict_client(db, api_settings):
    import dataclasses

    return create_app(dataclasses.replace(api_settings, api_rate_limit_per_minute=3)).test_client()


def test_requests_past_the_limit_get_429_with_retry_after(strict_client):
    statuses = [strict_client.get("/api/v1/info").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = strict_client.get("/api/v1/info")
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


def test_the_rate_limit_is_also_per_token(strict_client):
    headers = {"Authorization": "Bearer kpf_" + "A" * 43}
    first = [strict_client.get("/api/v1/info", headers=headers, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
             .status_code for n in range(4)]
    assert first == [200, 200, 200, 429]
