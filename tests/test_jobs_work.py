"""The work report: only work the pool verified itself (hash and pail on chain) is recorded."""
from stellar_sdk import Asset, Payment

from chain import calls
from chain.kale import count_zeros
from db.chain_models import Discrepancy
from db.models import Pooler, Work
from jobs.work import verify_report


def one_planted_farmer(pool_harness):
    """(pooler, farmer, block index, entropy): a new block with one farmer planted, not worked yet."""
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    pool_harness.wait_until_block_can_open()
    block = pool_harness.plant(pooler)["block"]
    return pooler, farmer, block["index"], bytes.fromhex(block["entropy"])


def work_complete(pool_harness, pooler, item: dict) -> dict:
    """The pool's answer to a work-complete report of one item."""
    return pool_harness.api("POST", "/pooler/work-complete", token=pooler.api_key, json={"results": [item]}).json()


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
    reasons = {(r["farmer"], r["block_index"]): r["reason"] for r in report["rejected"]}
    assert report["accepted"] == []
    assert "hash does not match" in reasons[(item["farmer"], item["block_index"])]
    assert "did not have that farmer planted" in reasons[(item["farmer"], item["block_index"] + 1000)]
    assert "did not have that farmer planted" in reasons[(stranger.address, item["block_index"])]
    assert Work.select().where(Work.farmer == farmer.id).count() == 1


def test_a_report_whose_hash_is_not_the_work_on_chain_is_refused_and_blocks_nothing(pool_harness):
    pooler, farmer, index, entropy = one_planted_farmer(pool_harness)
    real = pool_harness.work(pooler, farmer.address, index, entropy)
    pool_harness.index_and_reconcile()  # the chain record now shows the real work
    fake = pool_harness.work_item(farmer.address, index, entropy, start_nonce=real["nonce"] + 1)
    report = work_complete(pool_harness, pooler, fake)
    assert report["accepted"] == []
    assert report["rejected"][0]["reason"] == "the chain shows other work for this pail"
    assert Work.select().count() == 0
    pool_harness.index_and_reconcile()
    assert Discrepancy.select().where(Discrepancy.farmer == farmer.id).count() == 0


def test_work_on_a_pail_harvested_before_the_indexer_saw_it_is_verified_by_its_transaction(pool_harness):
    """Anyone may harvest the moment the next block opens; the work's only trace is then its transaction."""
    pooler, farmer, index, entropy = one_planted_farmer(pool_harness)
    item = pool_harness.work(pooler, farmer.address, index, entropy)
    pool_harness.close_block(pooler)
    harvested = pool_harness.invoke_as(pool_harness.outsider(), calls.harvest(
        pool_harness.settings.network.farm_contract, farmer.address, index))
    assert harvested.status.value == "SUCCESS"
    assert pool_harness.client.pails([(farmer.address, index)]) == {}
    paid = pool_harness.classic(pool_harness.outsider(), [Payment(farmer.address, Asset.native(), "1")])
    for other_transaction in (harvested, paid):
        refused = work_complete(pool_harness, pooler, {**item, "tx_hash": other_transaction.transaction_hash})
        assert refused["rejected"][0]["reason"] == "no work for this pail on chain yet (and the pail is gone)"
    report = work_complete(pool_harness, pooler, item)
    assert report["rejected"] == []
    [accepted] = report["accepted"]
    work = Work.get(Work.farmer == farmer.id)
    assert (work.zeros, work.gap, work.tx_hash) == (accepted["zeros"], accepted["gap"], item["tx_hash"])
    assert accepted["gap"] is not None and accepted["zeros"] >= 1


def test_a_resubmitted_work_the_indexer_has_not_seen_yet_is_verified_by_its_transaction(pool_harness):
    """The chain record shows the first work only; the better one that replaced it is on chain too."""
    pooler, farmer, index, entropy = one_planted_farmer(pool_harness)
    first = pool_harness.work(pooler, farmer.address, index, entropy)
    pool_harness.index_and_reconcile()
    zeros = count_zeros(bytes.fromhex(first["hash"]))
    better = pool_harness.work(pooler, farmer.address, index, entropy, min_zeros=zeros + 1,
                               start_nonce=first["nonce"] + 1)
    forged = {**pool_harness.work_item(farmer.address, index, entropy, start_nonce=better["nonce"] + 1),
              "tx_hash": better["tx_hash"]}
    refused = work_complete(pool_harness, pooler, forged)
    assert refused["rejected"][0]["reason"] == "the chain shows other work for this pail"
    report = work_complete(pool_harness, pooler, better)
    assert report["rejected"] == []
    assert Work.get(Work.farmer == farmer.id).tx_hash == better["tx_hash"]


def test_a_huge_report_about_unplanted_farmers_reads_nothing_from_the_chain(pool_harness, monkeypatch):
    pooler = pool_harness.new_pooler()
    pool_harness.new_farmer(pooler)
    item = pool_harness.plant_and_work(pooler)["items"][0]
    chain = pool_harness.pool.client

    def no_chain_reads(*args, **kwargs):
        raise AssertionError("a report about pails this pooler never planted must not read the chain")

    items = [{**item, "block_index": item["block_index"] + 10 + n} for n in range(5000)]
    monkeypatch.setattr(chain, "pails", no_chain_reads)
    monkeypatch.setattr(chain, "block", no_chain_reads)
    report = verify_report(chain, Pooler.get_by_id(pooler.id), items)
    assert len(report["rejected"]) == 5000



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
