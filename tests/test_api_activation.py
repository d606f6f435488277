"""Activation against the devnet over HTTP: funded account checked, KALE trustline added by custody."""
import dataclasses

import pytest

from chain.rpc import ChainClient
from db.models import Farmer, TxIntent
from web.app import create_app


@pytest.fixture
def chain_client(db, api_settings, devnet):
    """An API whose RPC is the devnet."""
    settings = dataclasses.replace(api_settings, rpc_url=devnet.rpc_url)
    return create_app(settings).test_client()


def _register(client, pooler):
    from stellar_sdk import Keypair

    data = client.post("/api/v1/farmers", json={"payout_address": Keypair.random().public_key,
                                                 "pooler_id": pooler.id, "stake_bps": 5000}).get_json()
    return data, {"Authorization": f"Bearer {data['api_token']}"}


def test_an_unfunded_farmer_is_told_to_fund_its_wallet(chain_client, pooler):
    data, headers = _register(chain_client, pooler)
    response = chain_client.post("/api/v1/farmers/me/activate", headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_funded"
    assert data["custodial_address"] in response.get_json()["error"]["message"]
    assert Farmer.get_by_id(data["farmer_id"]).status == "awaiting_funding"


def test_a_funded_farmer_gets_its_kale_trustline_and_becomes_active(chain_client, pooler, devnet, api_settings):
    data, headers = _register(chain_client, pooler)
    devnet.fund(data["custodial_address"])
    response = chain_client.post("/api/v1/farmers/me/activate", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "active"
    chain = ChainClient(dataclasses.replace(api_settings, rpc_url=devnet.rpc_url).network)
    assert chain.kale_balance(data["custodial_address"]) == 0  # the trustline exists
    intent = TxIntent.get(TxIntent.idempotency_key == f"trustline:{data['farmer_id']}")
    assert intent.status == "success" and intent.envelope_xdr and intent.tx_hash
    again = chain_client.post("/api/v1/farmers/me/activate", headers=headers)
    assert again.status_code == 200 and TxIntent.select().count() == 1


def test_an_account_short_of_xlm_is_refused(db, api_settings, devnet, pooler):
    settings = dataclasses.replace(api_settings, rpc_url=devnet.rpc_url, min_account_xlm_stroops=10**15)
    client = create_app(settings).test_client()
    data, headers = _register(client, pooler)
    devnet.fund(data["custodial_address"])
    response = client.post("/api/v1/farmers/me/activate", headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "insufficient_xlm"


def test_health_is_ok_with_the_devnet_and_the_database(chain_client):
    response = chain_client.get("/api/v1/health")
    assert response.status_code == 200 and response.get_json()["latest_ledger"] > 0
