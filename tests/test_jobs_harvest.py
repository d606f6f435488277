"""Harvest on each farmer's interval, compensation for unworked pails, and the TTL guard."""
import pytest

from chain.kale import harvest_reward
from db.models import Compensation, Harvest
from tests.fixtures.pool import serve_pool


def closed_block(pool_harness, pooler, **work):
    """Farm one block, then open the next (the pool's own plant closes the first)."""
    block = pool_harness.plant_and_work(pooler, **work)
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)
    return block


def test_a_worked_pail_is_harvested_once_its_block_closes_for_the_reward_the_formula_gives(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler, harvest_interval_blocks=1)
    block = pool_harness.plant_and_work(pooler)
    index = block["items"][0]["block_index"]
    pail = pool_harness.client.pails([(farmer.address, index)])[(farmer.address, index)].value
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)
    chain_block = pool_harness.client.block(index).value  # final totals of the closed block
    expected = harvest_reward(chain_block, index, pail.gap, pail.stake, pail.zeros)
    before = pool_harness.client.kale_balance(farmer.address)

    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()

    harvest = Harvest.get(Harvest.farmer == farmer.id, Harvest.block_index == index)
    assert harvest.reward == expected
    assert pool_harness.client.kale_balance(farmer.address) == before + expected + pail.stake
    assert pool_harness.client.pails([(farmer.address, index)]) == {}


def test_a_farmer_is_harvested_on_its_interval_not_before(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler, harvest_interval_blocks=2)
    first = closed_block(pool_harness, pooler)
    report = pool_harness.pool.harvester.run_pass()
    assert report.harvests == []
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)
    report = pool_harness.pool.harvester.run_pass()
    assert (farmer.id, first["items"][0]["block_index"]) in report.harvests


def test_an_unworked_pail_becomes_a_compensation_the_pooler_owes(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.wait_until_block_can_open()
    planted = pool_harness.plant(pooler)["planted"][0]
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)
    pool_harness.pool.harvester.run_pass()
    compensation = Compensation.get(Compensation.farmer == farmer.id)
    assert (compensation.block_index, compensation.amount, compensation.pooler_id) == (
        planted["block_index"], planted["stake"], pooler.id)
    seen_by_farmer = pool_harness.api("GET", "/farmers/me/compensations", token=farmer.token).json()
    seen_by_pooler = pool_harness.api("GET", "/pooler/compensations", token=pooler.api_key).json()
    assert seen_by_farmer["total"] == seen_by_pooler["total"] == planted["stake"]


@pytest.fixture
def short_lived_pails(devnet_factory, postgres, db, tmp_path):
    """A pool on a devnet whose temporary entries live 80 ledgers (a block is ~60), guarding 60."""
    devnet = devnet_factory(close_interval=0.05, temp_ttl=80)
    with serve_pool(devnet, postgres, tmp_path / "state", ttl_guard_ledgers=60) as harness:
        yield harness


def test_a_pail_about_to_expire_is_harvested_before_its_farmers_interval(short_lived_pails):
    harness = short_lived_pails
    pooler = harness.new_pooler()
    farmer = harness.new_farmer(pooler, harvest_interval_blocks=50)
    index = harness.plant_and_work(pooler)["items"][0]["block_index"]
    harness.wait_until_block_can_open()
    harness.plant(pooler)  # the block closes; its pail now has < 60 ledgers to live
    report = harness.pool.harvester.run_pass()
    harness.resolve_all()
    assert (farmer.id, index) in report.harvests
    assert Harvest.get(Harvest.farmer == farmer.id, Harvest.block_index == index).reward > 0


def test_a_pail_of_the_open_block_about_to_expire_has_its_ttl_extended(short_lived_pails):
    harness = short_lived_pails
    pooler = harness.new_pooler()
    farmer = harness.new_farmer(pooler)
    harness.wait_until_block_can_open()
    index = harness.plant(pooler)["planted"][0]["block_index"]
    before = harness.client.pails([(farmer.address, index)])[(farmer.address, index)].live_until
    while before - harness.client.latest_ledger().sequence > 60:
        harness.devnet.wait_ledgers(1)
    report = harness.pool.harvester.run_pass()
    harness.resolve_all()
    assert (farmer.id, index) in report.extensions
    after = harness.client.pails([(farmer.address, index)])[(farmer.address, index)].live_until
    assert after > before
    assert harness.client.block(index).live_until > before
