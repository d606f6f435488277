"""The work report: only work the pool verified itself (hash and pail on chain) is recorded."""
from db.models import Work


def test_verified_work_is_recorded_with_the_chains_zeros_and_gap(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    block = pool_harness.plant_and_work(pooler)
    assert block["report"]["rejected"] == []
    [accepted] = block["report"]["accepted"]
    pail = pool_harness.client.pails([(farmer.address, accepted["block_index"])])
    entry = pail[(farmer.address, accepted["block_index"])].value
    assert (accepted["zeros"], accepted["gap"]) == (entry.zeros, entry.gap)
    work = Work.get(Work.farmer == farmer.id)
    assert (work.zeros, work.gap, bytes(work.hash).hex()) == (entry.zeros, entry.gap, block["items"][0]["hash"])


def test_a_wrong_hash_an_unplanted_block_and_another_poolers_farmer_are_rejected(pool_harness):
    pooler, other = pool_harness.new_pooler(), pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    stranger = pool_harness.new_farmer(other)
    block = pool_harness.plant_and_work(pooler)
    item = block["items"][0]
    wrong_hash = {**item, "hash": ("00" * 31) + "01"}
    wrong_block = {**item, "block_index": item["block_index"] + 1000}
    not_mine = {**item, "farmer": stranger.address}
    report = pool_harness.api("POST", "/pooler/work-complete", token=pooler.api_key,
                              json={"results": [wrong_hash, wrong_block, not_mine]}).json()
    reasons = [r["reason"] for r in report["rejected"]]
    assert report["accepted"] == []
    assert "hash does not match" in reasons[0]
    assert "not planted" in reasons[1]
    assert "not a farmer of this pooler" in reasons[2]
    assert Work.select().where(Work.farmer == farmer.id).count() == 1


def test_a_malformed_item_is_rejected_alone(pool_harness):
    pooler = pool_harness.new_pooler()
    pool_harness.new_farmer(pooler)
    block = pool_harness.plant_and_work(pooler)
    good = block["items"][0]
    report = pool_harness.api("POST", "/pooler/work-complete", token=pooler.api_key,
                              json={"results": [{"farmer": "GBAD", "block_index": 1, "nonce": 1, "hash": "00"},
                                                good]}).json()
    assert len(report["accepted"]) == 1, report
    assert report["rejected"][0]["reason"].startswith("farmer")
