"""The pooler's console over HTTP: the hash rate its agents report, its farmers page by page, its
share accrued and paid, the compensation it owes and paid; and the compensation each pooler paid
on the public list."""
from chain.kale import STROOPS_PER_KALE
from db.models import Settlement, SettlementPeriod
from gpu_miner.agent.pool_client import PoolClient, PoolRefused


def me(harness, pooler) -> dict:
    response = harness.api("GET", "/pooler/me", token=pooler.api_key)
    assert response.status_code == 200, response.text
    return response.json()


def exit_farmer(harness, farmer) -> None:
    response = harness.api("POST", "/farmers/me/exit", token=farmer.token, json={})
    assert response.status_code == 202, response.text


def test_agents_report_their_hash_rate_and_the_console_adds_up_the_latest_of_each(pool_harness):
    pooler = pool_harness.new_pooler()
    client = PoolClient(pool_harness.api_url, pooler.api_key)

    client.report_status("rig-1", 1_000, block_index=7)
    client.report_status("rig-2", 250)
    client.report_status("rig-1", 1_500, block_index=8)  # a newer report replaces the older

    found = me(pool_harness, pooler)
    assert found["hash_rate"] == 1_750
    assert [(a["agent"], a["hash_rate"], a["block_index"], a["current"]) for a in found["agents"]] == [
        ("rig-1", 1_500, 8, True), ("rig-2", 250, None, True)]
    assert all(a["reported_at"] for a in found["agents"])


def test_a_status_report_is_checked_and_only_a_pooler_may_send_it(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler, kale=0)
    client = PoolClient(pool_harness.api_url, pooler.api_key)
    for agent, rate in (("", 1), ("rig 1", 1), ("x" * 65, 1), ("rig", -1), ("rig", 10**16)):
        try:
            client.report_status(agent, rate)
        except PoolRefused as refused:
            assert refused.status == 400
        else:
            raise AssertionError(f"accepted agent {agent!r} with hash rate {rate}")
    for body in ({"agent": "rig"}, {"agent": "rig", "hash_rate": 1.5}, {"agent": "rig", "hash_rate": 1, "x": 1}):
        answer = pool_harness.api("POST", "/pooler/status", token=pooler.api_key, json=body)
        assert answer.status_code == 400, (body, answer.text)
    assert pool_harness.api("POST", "/pooler/status", token=farmer.token,
                            json={"agent": "rig", "hash_rate": 1}).status_code == 403
    assert me(pool_harness, pooler)["agents"] == []


def test_the_farmers_list_comes_in_pages(pool_harness):
    pooler = pool_harness.new_pooler()
    ids = sorted(f.id for f in pool_harness.new_farmers_bulk(pooler, 3))

    first = pool_harness.api("GET", "/pooler/farmers", token=pooler.api_key, params={"limit": 2}).json()
    rest = pool_harness.api("GET", "/pooler/farmers", token=pooler.api_key,
                            params={"limit": 2, "offset": 2}).json()

    assert [f["farmer_id"] for f in first["farmers"] + rest["farmers"]] == ids
    assert (first["total"], rest["total"], len(first["farmers"])) == (3, 3, 2)
    bad = pool_harness.api("GET", "/pooler/farmers", token=pooler.api_key, params={"limit": 0})
    assert bad.status_code == 400


def test_the_share_accrued_is_the_poolers_share_of_the_pails_it_worked_for_farmers_still_in(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=3000)
    farmers = [pool_harness.new_farmer(pooler), pool_harness.new_farmer(pooler)]
    pool_harness.plant_and_work(pooler)
    pool_harness.close_block(pooler)
    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()
    pool_harness.index_and_reconcile()

    money = me(pool_harness, pooler)["money"]

    shares = [period["share"] for farmer in farmers
              for period in pool_harness.api("GET", "/farmers/me", token=farmer.token).json()["rewards_by_pooler"]]
    assert money["share_accrued"] == sum(shares) > 0
    assert (money["share_paid"], money["compensation_paid"], money["debt_owed"]) == (0, 0, 0)


def plant_leaving_one_unworked(harness, pooler, idle) -> int:
    """Open a block, plant the pooler's farmers and work every pail but `idle`'s; its lost stake."""
    harness.wait_until_block_can_open()
    answer = harness.plant(pooler)
    harness.devnet.wait_ledgers(2)
    worked = [p for p in answer["planted"] if p["farmer_id"] != idle.id]
    for pail in worked:
        harness.work(pooler, pail["address"], pail["block_index"], bytes.fromhex(answer["block"]["entropy"]))
    return sum(p["stake"] for p in answer["planted"]) - sum(p["stake"] for p in worked)


def test_settlements_move_the_share_from_accrued_to_paid_and_show_the_compensation_paid(pool_harness):
    pooler = pool_harness.new_pooler(share_bps=5000)
    creditor = pool_harness.new_farmer(pooler, kale=1_000 * STROOPS_PER_KALE)
    payer = pool_harness.new_farmer(pooler, kale=10 * STROOPS_PER_KALE)
    pool_harness.new_farmer(pooler)  # keeps blocks opening
    lost = plant_leaving_one_unworked(pool_harness, pooler, creditor)
    exit_farmer(pool_harness, creditor)
    pool_harness.close_block(pooler)
    pool_harness.settle(creditor.id)
    assert me(pool_harness, pooler)["money"]["debt_owed"] == lost  # its share of nothing covered nothing

    exit_farmer(pool_harness, payer)
    pool_harness.close_block(pooler)
    pool_harness.settle(payer.id)

    money = me(pool_harness, pooler)["money"]
    periods = list(SettlementPeriod.select().join(Settlement).where(Settlement.farmer.in_([creditor.id, payer.id])))
    assert money["share_paid"] == sum(p.amount for p in periods) > 0
    assert money["debt_paid"] == sum(p.debt_collected for p in periods) > 0
    assert money["compensation_paid"] == sum(p.offset_amount + p.debt_collected for p in periods)
    assert money["debt_owed"] == lost - money["debt_paid"]
    owed = pool_harness.api("GET", "/pooler/compensations", token=pooler.api_key).json()["compensations"]
    assert money["compensation_owed"] == sum(c["amount"] for c in owed if c["settlement_id"] is None)
    listing = pool_harness.api("GET", "/poolers").json()["poolers"]
    assert next(p for p in listing if p["pooler_id"] == pooler.id)["compensation_paid"] == money["compensation_paid"]
