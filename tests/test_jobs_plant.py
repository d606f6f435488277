"""Plant on the pooler's request: every active farmer, once per block, with the right stake."""
from chain.kale import STROOPS_PER_KALE
from db.models import Farmer, Planting, TxIntent


def test_a_plant_request_plants_every_active_farmer_with_its_share_of_the_balance(pool_harness):
    pooler = pool_harness.new_pooler()
    stakes = {2500: 100 * STROOPS_PER_KALE + 3, 10_000: 7 * STROOPS_PER_KALE, 0: STROOPS_PER_KALE}
    farmers = {pool_harness.new_farmer(pooler, kale=kale, stake_bps=bps).address: (bps, kale)
               for bps, kale in stakes.items()}
    pool_harness.wait_until_block_can_open()
    answer = pool_harness.plant(pooler)
    assert answer["failed"] == []
    assert {p["address"] for p in answer["planted"]} == set(farmers)
    for planted in answer["planted"]:
        bps, kale = farmers[planted["address"]]
        assert planted["stake"] == kale * bps // 10_000
        assert planted["block_index"] == answer["block"]["index"]
        assert pool_harness.client.kale_balance(planted["address"]) == kale - planted["stake"]
    assert len(bytes.fromhex(answer["block"]["entropy"])) == 32


def test_the_same_request_in_the_same_block_answers_the_same_and_plants_nothing_twice(pool_harness):
    pooler = pool_harness.new_pooler()
    pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)
    pool_harness.wait_until_block_can_open()
    first = pool_harness.plant(pooler)
    intents = TxIntent.select().where(TxIntent.action == "plant").count()
    second = pool_harness.plant(pooler)
    assert second == first
    assert TxIntent.select().where(TxIntent.action == "plant").count() == intents == 2
    assert Planting.select().count() == 2


def test_only_the_calling_poolers_active_farmers_are_planted(pool_harness):
    mine, other = pool_harness.new_pooler(), pool_harness.new_pooler()
    planted = pool_harness.new_farmer(mine)
    leaving = pool_harness.new_farmer(mine)
    pool_harness.api("POST", "/farmers/me/exit", token=leaving.token, json={})
    pool_harness.new_farmer(other)
    pool_harness.wait_until_block_can_open()
    answer = pool_harness.plant(mine)
    assert [p["address"] for p in answer["planted"]] == [planted.address]
    assert Farmer.get_by_id(leaving.id).status == "leaving"


def test_plant_request_needs_a_pooler_token(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    assert pool_harness.api("POST", "/pooler/plant-request", json={}).status_code == 401
    assert pool_harness.api("POST", "/pooler/plant-request", token=farmer.token, json={}).status_code == 403
