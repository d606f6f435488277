"""Registrations cost a pooler nothing until funded; unfunded ones expire; a flood cannot fill a pooler."""
from __future__ import annotations

import pytest
import requests
from stellar_sdk import Keypair

from tests.served_api import served_api


def _register(base: str, pooler_id: int) -> requests.Response:
    return requests.post(f"{base}/farmers", timeout=30, json={
        "payout_address": Keypair.random().public_key, "pooler_id": pooler_id, "stake_bps": 5000})


@pytest.fixture
def small_pooler(db):
    from web.accounts import create_pooler

    row, key = create_pooler("small", Keypair.random().public_key, 5000, 2)
    return row


def test_a_flood_of_unfunded_registrations_leaves_the_pooler_its_seats_for_funded_farmers(
        postgres, small_pooler, devnet, tmp_path):
    env = {"KALEPOOL_REGISTRATIONS_PER_HOUR": "100000"}
    with served_api(postgres, tmp_path / "state", rpc_url=devnet.rpc_url, env=env) as base:
        flood = [_register(base, small_pooler.id).status_code for _ in range(300)]
        assert flood == [201] * 300
        funded = [_register(base, small_pooler.id).json() for _ in range(3)]
        for farmer in funded:
            devnet.fund(farmer["custodial_address"])
        activations = [requests.post(f"{base}/farmers/me/activate", timeout=120,
                                     headers={"Authorization": f"Bearer {farmer['api_token']}"})
                       for farmer in funded]
    assert [a.status_code for a in activations] == [200, 200, 409]  # capacity 2: the funded take it
    assert activations[2].json()["error"]["code"] == "pooler_full"


def test_registrations_are_rate_limited_per_client(postgres, small_pooler, tmp_path):
    with served_api(postgres, tmp_path / "state", env={"KALEPOOL_REGISTRATIONS_PER_HOUR": "5"}) as base:
        answers = [_register(base, small_pooler.id) for _ in range(8)]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
    assert int(answers[-1].headers["Retry-After"]) >= 1 and answers[-1].json()["error"]["code"] == "rate_limited"


def test_unfunded_registrations_expire_and_funded_ones_are_kept(pool_harness):
    from peewee import SQL

    from db.models import Farmer
    from jobs.registrations import RegistrationExpiry

    pooler = pool_harness.new_pooler()
    created = [pool_harness.api("POST", "/farmers", json={"payout_address": Keypair.random().public_key,
                                                          "pooler_id": pooler.id, "stake_bps": 5000}).json()
               for _ in range(4)]
    old_unfunded, old_funded, recent, leaving = (farmer["farmer_id"] for farmer in created)
    pool_harness.devnet.fund(created[1]["custodial_address"])
    Farmer.update(created_at=SQL("now() - interval '2 days'")).where(
        Farmer.id.in_([old_unfunded, old_funded, leaving])).execute()
    exit_answer = pool_harness.api("POST", "/farmers/me/exit", token=created[3]["api_token"])
    assert exit_answer.status_code == 202

    expired = RegistrationExpiry(pool_harness.client, ttl_seconds=86_400).run_pass()

    assert expired == 2
    assert {f.id for f in Farmer.select()} == {old_funded, recent}
    gone = pool_harness.api("GET", "/farmers/me", token=created[0]["api_token"])
    assert gone.status_code == 401
