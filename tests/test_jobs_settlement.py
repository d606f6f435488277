"""Exit settlement: the statement adds up exactly to what moved on chain, and is paid once."""
from db.models import TxIntent


def settle(pool_harness, farmer) -> None:
    pool_harness.settle(farmer.id)


def test_an_exit_pays_the_pooler_its_share_and_the_farmer_the_rest_exactly(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)  # stays, so the pool keeps opening blocks
    pool_harness.plant_and_work(pooler)
    assert pool_harness.api("POST", "/farmers/me/exit", token=farmer.token, json={}).status_code == 202
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)  # the pool opens the next block; the exited farmer is not planted
    pooler_before = pool_harness.client.kale_balance(pooler.keypair.public_key)
    farmer_before = pool_harness.client.kale_balance(farmer.payout.public_key)

    settle(pool_harness, farmer)

    statement = pool_harness.api("GET", "/farmers/me/settlement", token=farmer.token).json()
    rewards = sum(pail["reward"] for period in statement["periods"] for pail in period["pails"])
    assert statement["rewards_earned"] == rewards > 0
    assert statement["pooler_share"] == rewards * 5000 // 10_000
    assert statement["pooler_amount"] == statement["pooler_share"]
    assert statement["pooler_amount"] + statement["farmer_amount"] == statement["wallet_balance"]
    assert pool_harness.client.kale_balance(pooler.keypair.public_key) - pooler_before == statement["pooler_amount"]
    assert pool_harness.client.kale_balance(farmer.payout.public_key) - farmer_before == statement["farmer_amount"]
    assert pool_harness.client.account(farmer.address) is None  # merged: its XLM went to the farmer
    assert {p["asset"] for p in statement["payouts"]} == {"KALE", "XLM"}
    assert TxIntent.select().where(TxIntent.action == "payout").count() == 1


def test_compensation_owed_is_taken_from_the_pooler_share(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)  # stays, so the pool keeps opening blocks
    pool_harness.plant_and_work(pooler)      # a worked block: rewards
    pool_harness.wait_until_block_can_open()
    planted = pool_harness.plant(pooler)["planted"]   # planted, never worked
    lost = next(p["stake"] for p in planted if p["address"] == farmer.address)
    pool_harness.api("POST", "/farmers/me/exit", token=farmer.token, json={})
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)

    settle(pool_harness, farmer)

    statement = pool_harness.api("GET", "/farmers/me/settlement", token=farmer.token).json()
    assert statement["compensation_owed"] == lost
    offset = min(statement["pooler_share"], lost)
    assert statement["pooler_amount"] == statement["pooler_share"] - offset
    assert statement["pooler_debt"] == lost - offset


def test_a_settlement_statement_is_not_found_before_exit(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    response = pool_harness.api("GET", "/farmers/me/settlement", token=farmer.token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
