"""Money off the happy path, decided by the chain: each scenario an attacker, an outsider or bad
luck can cause, settled to the stroop on the devnet and PostgreSQL."""
from stellar_sdk import Asset, ChangeTrust, ClaimClaimableBalance, Payment, TransactionEnvelope

from chain import calls
from chain.kale import STROOPS_PER_KALE
from db.models import Compensation, Farmer, Harvest, PoolerDebt, Settlement, TxIntent
from chain.amounts import format_stroops


def kale(harness) -> Asset:
    network = harness.settings.network
    return Asset(network.kale_asset_code, network.kale_asset_issuer)


def balance(harness, address: str) -> int:
    return harness.client.kale_balance(address) or 0


def exit_farmer(harness, farmer) -> None:
    response = harness.api("POST", "/farmers/me/exit", token=farmer.token, json={})
    assert response.status_code == 202, response.text


def statement(harness, farmer) -> dict:
    response = harness.api("GET", "/farmers/me/settlement", token=farmer.token)
    assert response.status_code == 200, response.text
    return response.json()


def period_of(found: dict, pooler) -> dict:
    return next(p for p in found["periods"] if p["pooler_id"] == pooler.id)


def test_a_pooler_switch_pays_each_pooler_its_share_of_exactly_the_pails_it_requested(pool_harness):
    a, b = pool_harness.new_pooler(share_bps=5000), pool_harness.new_pooler(share_bps=2000)
    farmer = pool_harness.new_farmer(a)
    pool_harness.new_farmer(b)  # keeps blocks opening under B
    first = pool_harness.plant_and_work(a)["items"][0]["block_index"]
    switched = pool_harness.api("PATCH", "/farmers/me", token=farmer.token, json={"pooler_id": b.id})
    assert switched.status_code == 200, switched.text  # allowed with A's pail still open
    second = next(i for i in pool_harness.plant_and_work(b)["items"] if i["farmer"] == farmer.address)
    exit_farmer(pool_harness, farmer)
    pool_harness.close_block(b)
    a_before, b_before = balance(pool_harness, a.keypair.public_key), balance(pool_harness, b.keypair.public_key)

    pool_harness.settle(farmer.id)

    found = statement(pool_harness, farmer)
    period_a, period_b = period_of(found, a), period_of(found, b)
    assert [p["block_index"] for p in period_a["pails"]] == [first]
    assert [p["block_index"] for p in period_b["pails"]] == [second["block_index"]]
    assert period_a["amount"] == period_a["rewards"] * 5000 // 10_000 > 0
    assert period_b["amount"] == period_b["rewards"] * 2000 // 10_000 > 0
    assert balance(pool_harness, a.keypair.public_key) - a_before == period_a["amount"]
    assert balance(pool_harness, b.keypair.public_key) - b_before == period_b["amount"]


def test_a_pail_harvested_by_an_outsider_still_pays_its_pooler_its_share(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)
    index = next(i for i in pool_harness.plant_and_work(pooler)["items"]
                 if i["farmer"] == farmer.address)["block_index"]
    exit_farmer(pool_harness, farmer)
    pool_harness.close_block(pooler)
    outsider = pool_harness.outsider(kale=0)
    harvested = pool_harness.invoke_as(outsider, calls.harvest(pool_harness.settings.network.farm_contract,
                                                               farmer.address, index))
    assert harvested.status.value == "SUCCESS"
    pool_before = balance(pool_harness, pooler.keypair.public_key)

    pool_harness.settle(farmer.id)

    harvest = Harvest.get(Harvest.farmer == farmer.id, Harvest.block_index == index)
    assert harvest.intent_id is None and harvest.tx_hash == harvested.transaction_hash
    assert not TxIntent.select().where(TxIntent.action == "harvest", TxIntent.farmer == farmer.id).exists()
    period = period_of(statement(pool_harness, farmer), pooler)
    assert period["rewards"] == harvest.reward > 0
    assert balance(pool_harness, pooler.keypair.public_key) - pool_before == harvest.reward * 5000 // 10_000


def test_a_payout_that_fails_on_chain_while_dust_arrives_is_rebuilt_and_pays_the_dust_to_the_farmer(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)
    pool_harness.plant_and_work(pooler)
    exit_farmer(pool_harness, farmer)
    pool_harness.close_block(pooler)
    for _ in range(3):  # harvest and record everything first, so the next failure hits the payout
        pool_harness.pool.harvester.run_pass()
        pool_harness.resolve_all()
        pool_harness.index_and_reconcile()
    pool_harness.devnet.fail_next(farmer.address, 1)
    pool_harness.pool.settler.run_pass()  # settlement made, first payout sent: it will fail
    pool_harness.resolve_all()
    outsider = pool_harness.outsider()
    assert pool_harness.classic(outsider, [Payment(farmer.address, kale(pool_harness), "0.0000001")]
                                ).status.value == "SUCCESS"
    wallet = balance(pool_harness, farmer.address)
    farmer_before = balance(pool_harness, farmer.payout.public_key)

    pool_harness.settle(farmer.id)
    pool_harness.index_and_reconcile()

    found = statement(pool_harness, farmer)
    assert [a["outcome"].split(":")[0] for a in found["attempts"]] == ["failed", "success"]
    paid_farmer = balance(pool_harness, farmer.payout.public_key) - farmer_before
    assert paid_farmer == wallet - found["pooler_amount"]  # the dust went to the farmer
    assert pool_harness.client.account(farmer.address) is None


def test_a_pooler_without_a_trustline_gets_a_claimable_balance_and_the_farmer_is_paid_at_once(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)
    pool_harness.plant_and_work(pooler)
    assert pool_harness.classic(pooler.keypair, [ChangeTrust(kale(pool_harness), limit="0")]).status.value == "SUCCESS"
    exit_farmer(pool_harness, farmer)
    pool_harness.close_block(pooler)
    farmer_before = balance(pool_harness, farmer.payout.public_key)

    pool_harness.settle(farmer.id)

    found = statement(pool_harness, farmer)
    [pooler_leg] = [p for p in found["payouts"] if p["recipient"] == "pooler"]
    assert pooler_leg["form"] == "claimable_balance" and pooler_leg["amount"] == found["pooler_amount"] > 0
    assert balance(pool_harness, farmer.payout.public_key) - farmer_before == found["farmer_amount"]
    assert Settlement.get(Settlement.farmer == farmer.id).status == "closing"  # the wallet sponsors the balance

    payout = TxIntent.get(TxIntent.action == "payout", TxIntent.farmer == farmer.id)
    envelope = TransactionEnvelope.from_xdr(payout.envelope_xdr, pool_harness.settings.network.passphrase)
    balance_id = envelope.transaction.get_claimable_balance_id(0)
    claimed = pool_harness.classic(pooler.keypair, [ChangeTrust(kale(pool_harness)),
                                                    ClaimClaimableBalance(balance_id)])
    assert claimed.status.value == "SUCCESS"
    assert balance(pool_harness, pooler.keypair.public_key) == found["pooler_amount"]
    for _ in range(5):
        pool_harness.pool.settler.run_pass()
        pool_harness.resolve_all()
    assert Settlement.get(Settlement.farmer == farmer.id).status == "done"
    assert pool_harness.client.account(farmer.address) is None  # closed: the last XLM merged to the farmer


def test_a_harvest_that_lands_as_failed_is_rebuilt_before_its_pail_expires(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler, harvest_interval_blocks=1)
    index = pool_harness.plant_and_work(pooler)["items"][0]["block_index"]
    pool_harness.close_block(pooler)
    pool_harness.devnet.fail_next(farmer.address, 1)
    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()
    intent = TxIntent.get(TxIntent.action == "harvest", TxIntent.block_index == index)
    assert intent.status == "failed"

    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()

    intent = TxIntent.get_by_id(intent.id)
    assert (intent.status, intent.attempts) == ("success", 2)
    assert Harvest.get(Harvest.farmer == farmer.id, Harvest.block_index == index).reward > 0
    assert pool_harness.client.pails([(farmer.address, index)]) == {}


def test_a_plant_still_pending_when_answered_is_reported_pending_and_then_planted(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.pool.planter.wait_seconds = 0
    pool_harness.wait_until_block_can_open()
    answer = pool_harness.plant(pooler)
    assert [p["farmer_id"] for p in answer["pending"]] == [farmer.id] and answer["planted"] == []
    pool_harness.resolve_all()
    again = pool_harness.plant(pooler)  # the same block, still open
    assert [p["farmer_id"] for p in again["planted"]] == [farmer.id]


def test_a_plant_the_pooler_never_heard_of_in_time_costs_it_no_compensation(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.pool.planter.wait_seconds = 0
    pool_harness.wait_until_block_can_open()
    index = pool_harness.plant(pooler)["pending"][0]["block_index"]
    pool_harness.resolve_all()  # it landed, but the pooler was told "pending"
    pool_harness.pool.planter.wait_seconds = 60
    pool_harness.close_block(pooler)
    pool_harness.pool.harvester.run_pass()

    compensation = Compensation.get(Compensation.farmer == farmer.id, Compensation.block_index == index)
    assert compensation.amount == 0
    owed = pool_harness.api("GET", "/pooler/compensations", token=pooler.api_key).json()
    assert owed["total"] == 0


def test_a_wallet_without_xlm_for_the_fees_is_not_planted_and_both_sides_are_told_why(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.pool.planter.fee_reserve = 10**15  # more XLM than any wallet has
    pool_harness.wait_until_block_can_open()
    answer = pool_harness.plant(pooler)
    assert answer["planted"] == [] and "not enough XLM" in answer["failed"][0]["reason"]
    me = pool_harness.api("GET", "/farmers/me", token=farmer.token).json()
    assert "not enough XLM" in me["plant_problem"]


def test_a_farmer_that_never_activated_leaves_with_all_its_xlm(pool_harness):
    pooler = pool_harness.new_pooler()
    payout = pool_harness.account_with_trustline()
    created = pool_harness.api("POST", "/farmers", json={
        "payout_address": payout.public_key, "pooler_id": pooler.id, "stake_bps": 5000,
        "harvest_interval_blocks": 1}).json()
    pool_harness.devnet.fund(created["custodial_address"])
    funded = pool_harness.client.account(created["custodial_address"]).balance
    before = pool_harness.client.account(payout.public_key).balance
    exit_farmer(pool_harness, type("F", (), {"token": created["api_token"]}))

    pool_harness.settle(created["farmer_id"])

    received = pool_harness.client.account(payout.public_key).balance - before
    fee = funded - received
    assert 0 < fee <= 1_000  # everything but the payout transaction's fee
    assert pool_harness.client.account(created["custodial_address"]) is None


def test_a_farmer_that_never_funded_its_wallet_departs_at_once(pool_harness):
    pooler = pool_harness.new_pooler()
    created = pool_harness.api("POST", "/farmers", json={
        "payout_address": pool_harness.account_with_trustline().public_key, "pooler_id": pooler.id,
        "stake_bps": 5000, "harvest_interval_blocks": 1}).json()
    exit_farmer(pool_harness, type("F", (), {"token": created["api_token"]}))
    pool_harness.settle(created["farmer_id"])
    assert Farmer.get_by_id(created["farmer_id"]).status == "departed"


def test_compensation_a_share_cannot_cover_is_collected_from_the_poolers_later_shares(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    creditor = pool_harness.new_farmer(pooler, kale=1_000 * STROOPS_PER_KALE)
    payer = pool_harness.new_farmer(pooler, kale=10 * STROOPS_PER_KALE)
    pool_harness.new_farmer(pooler)  # keeps blocks opening
    pool_harness.wait_until_block_can_open()
    answer = pool_harness.plant(pooler)
    entropy = bytes.fromhex(answer["block"]["entropy"])
    lost = next(p["stake"] for p in answer["planted"] if p["farmer_id"] == creditor.id)
    pool_harness.devnet.wait_ledgers(2)
    for planted in answer["planted"]:  # all but the creditor are worked
        if planted["farmer_id"] != creditor.id:
            pool_harness.work(pooler, planted["address"], planted["block_index"], entropy)
    exit_farmer(pool_harness, creditor)
    pool_harness.close_block(pooler)
    pool_harness.settle(creditor.id)
    debt = PoolerDebt.get(PoolerDebt.creditor == creditor.id)
    assert debt.amount == lost  # the creditor earned nothing: the share covers none of it
    creditor_before = balance(pool_harness, creditor.payout.public_key)

    pool_harness.plant_and_work(pooler)  # the payer earns more
    exit_farmer(pool_harness, payer)
    pool_harness.close_block(pooler)
    pool_harness.settle(payer.id)

    found = statement(pool_harness, payer)
    period = period_of(found, pooler)
    assert period["debt_collected"] == min(period["share"] - period["offset"], lost) > 0
    assert period["amount"] == period["share"] - period["offset"] - period["debt_collected"]
    assert balance(pool_harness, creditor.payout.public_key) - creditor_before == period["debt_collected"]
    assert found["debts_collected"] == [{"debt_id": debt.id, "creditor_id": creditor.id,
                                         "amount": period["debt_collected"]}]


def test_get_me_shows_chain_balances_staked_kale_and_the_exit_preview(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    farmer = pool_harness.new_farmer(pooler, kale=500 * STROOPS_PER_KALE, stake_bps=2500)
    pool_harness.wait_until_block_can_open()
    stake = pool_harness.plant(pooler)["planted"][0]["stake"]
    pool_harness.index_and_reconcile()

    me = pool_harness.api("GET", "/farmers/me", token=farmer.token).json()

    assert me["balances"]["kale"] == 500 * STROOPS_PER_KALE - stake == balance(pool_harness, farmer.address)
    assert me["balances"]["xlm"] == pool_harness.client.account(farmer.address).balance
    assert me["balances"]["staked"] == stake
    assert me["exit_preview"]["farmer_kale"] == me["balances"]["kale"]
    assert format_stroops(stake)  # a whole-stroop amount
