"""Operator commands: poolers create, auditor create (tokens printed once, stored hashed)."""
import json

import pytest
from click.testing import CliRunner
from stellar_sdk import Keypair

from db.models import Auditor, Pooler
from web.cli import auditor
from web.pooler_cli import poolers


@pytest.fixture
def run(db, postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgres)
    monkeypatch.setenv("KALEPOOL_STATE_DIR", str(tmp_path))

    def invoke(group, *args):
        return CliRunner().invoke(group, list(args), catch_exceptions=False)

    return invoke


def test_pooler_create_prints_one_json_line_and_stores_only_the_hash(run, client):
    address = Keypair.random().public_key
    result = run(poolers, "create", "--name", "gpu-farm", "--payout-address", address, "--share-bps", "4000",
                 "--capacity", "7", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip())
    row = Pooler.get_by_id(data["id"])
    assert (row.name, row.payout_address, row.share_bps, row.capacity) == ("gpu-farm", address, 4000, 7)
    assert data["api_key"].startswith("kpp_") and data["api_key"] not in row.api_key_hash
    me = client.get("/api/v1/pooler/me", headers={"Authorization": f"Bearer {data['api_key']}"})
    assert me.status_code == 200


def test_pooler_create_uses_the_configured_terms_by_default(run):
    result = run(poolers, "create", "--name", "plain", "--payout-address", Keypair.random().public_key)
    assert result.exit_code == 0 and "API key (shown once" in result.output
    row = Pooler.get(Pooler.name == "plain")
    assert (row.share_bps, row.capacity) == (5000, 1000)


@pytest.mark.parametrize("args,message", [
    (["--payout-address", "GBAD"], "payout-address"),
    (["--payout-address", "@", "--share-bps", "10001"], "payout-address"),
    (["--share-bps", "10001"], "share-bps"),
    (["--capacity", "0"], "capacity"),
    (["--name", " "], "name"),
])
def test_pooler_create_refuses_bad_options_and_creates_nothing(run, args, message):
    options = {"--name": "x", "--payout-address": Keypair.random().public_key}
    for flag, value in zip(args[::2], args[1::2]):
        options[flag] = value
    result = run(poolers, "create", *[item for pair in options.items() for item in pair])
    assert result.exit_code == 2 and message in result.output
    assert Pooler.select().count() == 0


def test_pooler_create_refuses_a_duplicate_name(run):
    address = Keypair.random().public_key
    run(poolers, "create", "--name", "twin", "--payout-address", address)
    result = run(poolers, "create", "--name", "twin", "--payout-address", address)
    assert result.exit_code == 1 and "already exists" in result.output
    assert Pooler.select().count() == 1


def test_auditor_create_prints_one_json_line_whose_token_reads(run, client, farmer):
    result = run(auditor, "create", "--name", "books", "--json")
    data = json.loads(result.output.strip())
    assert Auditor.get_by_id(data["id"]).token_hash != data["token"] and data["token"].startswith("kpa_")
    response = client.get(f"/api/v1/farmers/{farmer.id}", headers={"Authorization": f"Bearer {data['token']}"})
    assert response.status_code == 200
