"""The pool's recent blocks, public, over HTTP: per block the pool farmers planted, their pails
worked and harvested as the chain recorded them, their stake and rewards."""
from db.models import Planting


def test_a_block_shows_pool_farmers_planted_worked_and_harvested_with_stake_and_rewards(pool_harness):
    pooler = pool_harness.new_pooler()
    worker = pool_harness.new_farmer(pooler)
    pool_harness.new_farmer(pooler)  # planted too, never worked
    pool_harness.wait_until_block_can_open()
    answer = pool_harness.plant(pooler)
    index, entropy = answer["block"]["index"], bytes.fromhex(answer["block"]["entropy"])
    pool_harness.devnet.wait_ledgers(2)
    pool_harness.work(pooler, worker.address, index, entropy)  # the idler's pail stays unworked
    pool_harness.close_block(pooler)
    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()
    pool_harness.index_and_reconcile()

    response = pool_harness.api("GET", "/blocks", params={"limit": 5})

    assert response.status_code == 200, response.text
    blocks = {b["block_index"]: b for b in response.json()["blocks"]}
    block = blocks[index]
    stakes = [p.amount for p in Planting.select().where(Planting.block_index == index)]
    assert (block["planted"], block["worked"], block["harvested"]) == (2, 1, 1)
    assert block["stake"] == sum(stakes) > 0
    me = pool_harness.api("GET", "/farmers/me", token=worker.token).json()
    assert block["rewards"] == sum(p["rewards"] for p in me["rewards_by_pooler"]) > 0  # its one pail


def test_recent_blocks_are_newest_first_and_limited(pool_harness):
    pooler = pool_harness.new_pooler()
    pool_harness.new_farmer(pooler)
    first = pool_harness.plant_and_work(pooler)["plant"]["block"]["index"]
    second = pool_harness.close_block(pooler)["block"]["index"]

    both = pool_harness.api("GET", "/blocks", params={"limit": 10}).json()["blocks"]
    newest = pool_harness.api("GET", "/blocks", params={"limit": 1}).json()["blocks"]

    assert [b["block_index"] for b in both] == [second, first]
    assert [b["block_index"] for b in newest] == [second]


def test_recent_blocks_need_no_token_and_refuse_bad_queries(pool_harness):
    assert pool_harness.api("GET", "/blocks").json() == {"blocks": [], "limit": 50, "offset": 0}
    for params in ({"limit": 0}, {"limit": 201}, {"limit": "many"}, {"offset": -1}, {"farmer": 1}):
        answer = pool_harness.api("GET", "/blocks", params=params)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["error"]["code"]
