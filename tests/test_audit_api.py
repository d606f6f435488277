"""The auditor endpoints: discrepancies, a farmer's chain-derived statement and KALE ledger (CSV),
and a block's chain record, for auditor tokens only."""
from __future__ import annotations

import csv
import io

import pytest

from db.chain_models import Discrepancy
from tests.indexer_history import KALE, history, ingest  # noqa: F401
from web.api import API_PREFIX


@pytest.fixture
def client(app):
    from web import audit  # imported here: its routes join the OpenAPI description once imported

    if "audit" not in app.blueprints:  # until create_app registers it
        app.register_blueprint(audit.blueprint, url_prefix=API_PREFIX)
    return app.test_client()


@pytest.fixture
def farmer_a(rows, history):
    """Farmer a of the devnet history, as the pool knows it, with the history indexed."""
    farmer = rows.farmer(custodial_address=history.address("a"), payout_address=history.address("payee"))
    ingest(history, scope="pool")
    ingest(history, scope="all")
    return farmer


def get(client, auditor, path: str):
    return client.get(f"/api/v1{path}", headers=auditor.headers)


def test_discrepancies_are_listed_with_both_sides_and_the_open_count(client, auditor, rows):
    farmer = rows.farmer()
    Discrepancy.create(fingerprint="x", kind="harvest_mismatch", farmer=farmer.id, block_index=4,
                       pool_side={"reward": 11}, chain_side={"reward": 10})
    body = get(client, auditor, "/audit/discrepancies").get_json()
    assert body["open"] == body["total"] == 1
    [item] = body["discrepancies"]
    assert (item["kind"], item["farmer_id"], item["block_index"]) == ("harvest_mismatch", farmer.id, 4)
    assert (item["pool_side"], item["chain_side"], item["resolved_at"]) == ({"reward": 11}, {"reward": 10}, None)


@pytest.mark.parametrize("path", ["/audit/discrepancies", "/audit/farmers/1/statement",
                                  "/audit/farmers/1/ledger.csv", "/audit/blocks/1"])
def test_only_auditors_may_read_the_audit_endpoints(client, farmer, path):
    assert client.get(f"/api/v1{path}").status_code == 401
    response = client.get(f"/api/v1{path}", headers=farmer.headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_a_farmers_statement_is_recomputed_from_chain_rows(client, auditor, farmer_a, history):
    body = get(client, auditor, f"/audit/farmers/{farmer_a.id}/statement").get_json()
    assert (body["planted"], body["blocks_planted"], body["blocks_worked"]) == (5 * KALE, 2, 1)
    assert body["harvested"] > 0 and body["minted"] == body["harvested"] + 5 * KALE
    assert body["blocks"][0]["harvest_tx"] == history.hashes["harvest_a"]
    assert body["kale_net"] == history.client().kale_balance(history.address("a"))
    assert [(p["recipient"], p["asset"], p["amount"]) for p in body["settlement"]] == [
        ("farmer", f"{history.network.kale_asset_code}:{history.network.kale_asset_issuer}", 3 * KALE),
        ("farmer", "native", 15_000_000)]
    assert body["discrepancies"] == []


def test_a_statement_over_a_ledger_range_covers_the_blocks_planted_in_it(client, auditor, farmer_a, history):
    from db.chain_models import ChainTransaction

    plant = ChainTransaction.get(ChainTransaction.hash == history.hashes["plant_a"])
    statement = f"/audit/farmers/{farmer_a.id}/statement"
    before = get(client, auditor, f"{statement}?to_ledger={plant.ledger - 1}").get_json()
    during = get(client, auditor, f"{statement}?from_ledger={plant.ledger}&to_ledger={plant.ledger}").get_json()
    assert (before["planted"], before["blocks"]) == (0, [])
    assert during["planted"] == 5 * KALE and during["harvested"] > 0  # with its later harvest


def test_a_statement_range_outside_ledger_numbers_is_refused(client, auditor, farmer_a):
    response = get(client, auditor, f"/audit/farmers/{farmer_a.id}/statement?from_ledger=0")
    assert response.status_code == 400
    assert "from_ledger" in response.get_json()["error"]["message"]


def test_a_farmers_kale_ledger_downloads_as_csv_with_a_running_balance(client, auditor, farmer_a, history):
    response = get(client, auditor, f"/audit/farmers/{farmer_a.id}/ledger.csv")
    assert response.status_code == 200 and response.content_type.startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [line["cause"] for line in lines] == ["classic", "plant", "harvest"] + ["classic"] * (len(lines) - 3)
    assert int(lines[1]["amount"]) == -5 * KALE and lines[1]["tx_hash"] == history.hashes["plant_a"]
    assert int(lines[-1]["balance"]) == history.client().kale_balance(history.address("a"))


def test_a_block_shows_every_farm_call_the_chain_recorded_for_it(client, auditor, farmer_a, history):
    body = get(client, auditor, f"/audit/blocks/{history.blocks[0]}").get_json()
    hashes = [row["hash"] for row in body["chain"]]
    for label in ("plant_a", "plant_b_zero", "plant_whale", "work_a", "harvest_a", "harvest_a_again"):
        assert history.hashes[label] in hashes, label
    assert body["pool"] == {"plantings": [], "works": [], "harvests": [], "compensations": []}


@pytest.mark.parametrize("path", ["/audit/farmers/999/statement", "/audit/farmers/99999999999999999999/ledger.csv",
                                  f"/audit/blocks/{2**32}"])
def test_an_unknown_farmer_or_block_is_404(client, auditor, path):
    response = get(client, auditor, path)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
