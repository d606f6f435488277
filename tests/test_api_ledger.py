"""A farmer's custody ledger over HTTP: every chain movement of its wallet, classified, with the
running balance, as JSON pages and as CSV; the last balance of each asset is the chain's."""
import csv
import io

from chain.kale import STROOPS_PER_KALE

FIELDS = ["ledger", "tx_hash", "class", "asset", "amount", "balance", "counterparty", "block_index", "pooler_id"]


def farmed(harness):
    """A farmer that deposited XLM and KALE and had one pail planted and worked, indexed."""
    pooler = harness.new_pooler()
    farmer = harness.new_farmer(pooler, kale=200 * STROOPS_PER_KALE)
    harness.plant_and_work(pooler)
    harness.index_and_reconcile()
    return pooler, farmer


def ledger(harness, farmer, **params) -> dict:
    response = harness.api("GET", "/farmers/me/ledger", token=farmer.token, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_ledger_lists_each_movement_classified_with_the_running_balance_of_its_asset(pool_harness):
    pooler, farmer = farmed(pool_harness)

    found = ledger(pool_harness, farmer, limit=200)

    entries = found["entries"]
    assert found["total"] == len(entries) > 0 and all(list(e) == FIELDS for e in entries)
    classes = {(e["asset"], e["class"]) for e in entries}
    assert {("XLM", "deposit"), ("KALE", "deposit"), ("KALE", "stake"), ("XLM", "fee")} <= classes
    stake = next(e for e in entries if e["class"] == "stake")
    assert stake["amount"] < 0 and stake["pooler_id"] == pooler.id and stake["block_index"] is not None
    running = {"KALE": 0, "XLM": 0}
    for entry in entries:
        running[entry["asset"]] += entry["amount"]
        assert entry["balance"] == running[entry["asset"]]
    assert running["KALE"] == pool_harness.client.kale_balance(farmer.address)
    assert running["XLM"] == pool_harness.client.account(farmer.address).balance


def test_the_ledger_is_paged_oldest_first(pool_harness):
    _, farmer = farmed(pool_harness)
    everything = ledger(pool_harness, farmer, limit=200)["entries"]

    page = ledger(pool_harness, farmer, limit=2, offset=1)

    assert page["entries"] == everything[1:3] and page["total"] == len(everything)
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [e["ledger"] for e in everything] == sorted(e["ledger"] for e in everything)


def test_the_ledger_csv_holds_every_entry_as_the_json_does(pool_harness):
    _, farmer = farmed(pool_harness)
    entries = ledger(pool_harness, farmer, limit=200)["entries"]

    response = pool_harness.api("GET", "/farmers/me/ledger.csv", token=farmer.token)

    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert f"farmer-{farmer.id}-ledger.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows == [{name: "" if e[name] is None else str(e[name]) for name in FIELDS} for e in entries]


def test_the_ledger_is_only_the_calling_farmers_and_refuses_bad_pages(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler, kale=0)

    assert pool_harness.api("GET", "/farmers/me/ledger").status_code == 401
    assert pool_harness.api("GET", "/farmers/me/ledger.csv", token=pooler.api_key).status_code == 403
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "ten"}, {"since": 1}):
        answer = pool_harness.api("GET", "/farmers/me/ledger", token=farmer.token, params=params)
        assert answer.status_code == 400, (params, answer.text)
