"""A paused farm (contract error #4): the pool stops planting and says why, charges no compensation for
a block the farm was paused in, and resumes by itself once the farm is unpaused."""
from chain import calls
from db.models import Compensation, PausedBlock
from devnet.genesis import homesteader


def set_paused(harness, paused: bool) -> None:
    function = "pause" if paused else "unpause"
    response = harness.invoke_as(homesteader(), calls.invoke(harness.settings.network.farm_contract, function, []))
    assert response.status.value == "SUCCESS", response


def test_a_paused_farm_is_not_planted_costs_no_compensation_and_planting_resumes(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.wait_until_block_can_open()
    index = pool_harness.plant(pooler)["planted"][0]["block_index"]  # announced, and never worked
    set_paused(pool_harness, True)
    try:
        pool_harness.pool.harvester.run_pass()  # the scheduler sees the pause
        pool_harness.wait_until_block_can_open()
        answer = pool_harness.plant(pooler)
        assert answer["planted"] == [] and "paused" in answer["failed"][0]["reason"]
        me = pool_harness.api("GET", "/farmers/me", token=farmer.token).json()
        assert "paused" in me["plant_problem"]
    finally:
        set_paused(pool_harness, False)

    resumed = pool_harness.plant(pooler)

    assert [p["farmer_id"] for p in resumed["planted"]] == [farmer.id]
    assert PausedBlock.get_or_none(PausedBlock.block_index == index) is not None
    pool_harness.pool.harvester.run_pass()
    compensation = Compensation.get(Compensation.farmer == farmer.id, Compensation.block_index == index)
    assert compensation.amount == 0 and "paused" in compensation.reason
