"""No custodial secret ever leaves custody: not in a response, a log line or an error message."""
import logging
import re

import pytest
from stellar_sdk import Account, Keypair, Network, StrKey, TransactionBuilder

from chain.custody import CustodyError
from db.models import Farmer

SEED = re.compile(r"S[A-Z2-7]{55}")



def _leaks(text: str, seeds: list[str]) -> list[str]:
    found = [s for s in SEED.findall(text) if StrKey.is_valid_ed25519_secret_seed(s)]
    return found + [seed for seed in seeds if seed in text]


def test_no_seed_in_any_response_or_log_line(client, make_pooler, auditor, seeds, caplog):
    caplog.set_level(logging.DEBUG)
    pooler = make_pooler()
    bodies = []
    farmers = []
    for _ in range(3):
        response = client.post("/api/v1/farmers", json={"payout_address": Keypair.random().public_key,
                                                         "pooler_id": pooler.id, "stake_bps": 100})
        bodies.append(response.get_data(as_text=True))
        farmers.append(response.get_json())
    Farmer.update(status="active").execute()
    calls = [("GET", "/api/v1/farmers/me", farmers[0]["api_token"]),
             ("GET", "/api/v1/farmers/me/history", farmers[0]["api_token"]),
             ("PATCH", "/api/v1/farmers/me", farmers[0]["api_token"]),
             ("GET", "/api/v1/pooler/farmers", pooler.token), ("GET", "/api/v1/pooler/me", pooler.token),
             ("GET", "/api/v1/poolers", None), ("GET", "/api/v1/farmers", auditor.token),
             ("GET", f"/api/v1/farmers/{farmers[1]['farmer_id']}", auditor.token),
             ("GET", "/api/v1/metrics", None), ("GET", "/api/v1/openapi.json", None),
             ("POST", "/api/v1/farmers/me/exit", farmers[2]["api_token"])]
    for method, path, token in calls:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        bodies.append(client.open(path, method=method, json={"stake_bps": 1} if method == "PATCH" else None,
                                  headers=headers).get_data(as_text=True))
    assert len(seeds) >= 3
    assert not _leaks("\n".join(bodies) + caplog.text, seeds)


def test_custody_errors_name_the_farmer_not_the_key(client, make_farmer, seeds, app):
    farmer = Farmer.get_by_id(make_farmer().id)
    farmer.data_key_nonce = bytes(12)
    envelope = (TransactionBuilder(Account(farmer.custodial_address, 1), Network.TESTNET_NETWORK_PASSPHRASE, 100)
                .append_bump_sequence_op(2).set_timeout(30).build())
    with pytest.raises(CustodyError) as failure:
        app.extensions["kalepool"].custody.sign_transaction(farmer, envelope)
    text = str(failure.value) + repr(failure.value) + str(failure.value.__context__ or "")
    assert f"farmer {farmer.id}" in text and not _leaks(text, seeds)
