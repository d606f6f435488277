"""Pooler endpoints: the public list with terms and figures, a pooler's own view and its farmers."""
from db.models import Compensation, Farmer, Harvest, Planting, Pooler, Work


def test_the_public_list_shows_active_poolers_with_terms_and_figures(client, make_pooler, make_farmer):
    busy = make_pooler(capacity=3, share_bps=4000)
    Pooler.update(active=False).where(Pooler.id != busy.id).execute()
    farmer = make_farmer(pooler_id=busy.id)
    for block in (1, 2):
        Planting.create(farmer=farmer.id, pooler=busy.id, block_index=block, amount=100)
    Work.create(farmer=farmer.id, pooler=busy.id, block_index=1, hash=bytes(32), nonce=1, zeros=8)
    Harvest.create(farmer=farmer.id, block_index=1, reward=5000)
    Compensation.create(farmer=farmer.id, pooler=busy.id, block_index=2, amount=100, reason="unworked")
    listing = client.get("/api/v1/poolers").get_json()["poolers"]
    assert [entry["pooler_id"] for entry in listing] == [busy.id]
    entry = listing[0]
    assert (entry["capacity"], entry["share_bps"], entry["open_slots"]) == (3, 4000, 2)
    assert entry["performance"] == {"farmers": 1, "active_farmers": 0, "plantings": 2, "works": 1, "missed": 1,
                                    "work_rate_bps": 5000, "rewards_harvested": 5000, "compensation_owed": 100}


def test_the_public_list_needs_no_token_and_shows_no_secrets(client, pooler):
    entry = client.get("/api/v1/poolers").get_json()["poolers"][0]
    assert "api_key_hash" not in entry and "payout_address" not in entry


def test_a_pooler_sees_itself(client, pooler):
    me = client.get("/api/v1/pooler/me", headers=pooler.headers).get_json()
    assert me["pooler_id"] == pooler.id and me["performance"]["farmers"] == 0
    assert "api_key_hash" not in me


def test_a_pooler_lists_only_its_active_farmers_by_address(client, make_pooler, make_farmer):
    mine, theirs = make_pooler(), make_pooler()
    active, waiting, other = (make_farmer(pooler_id=mine.id), make_farmer(pooler_id=mine.id),
                              make_farmer(pooler_id=theirs.id))
    Farmer.update(status="active").where(Farmer.id.in_([active.id, other.id])).execute()
    farmers = client.get("/api/v1/pooler/farmers", headers=mine.headers).get_json()["farmers"]
    assert [f["farmer_id"] for f in farmers] == [active.id]
    assert farmers[0]["custodial_address"] == active.data["custodial_address"]
    assert set(farmers[0]) == {"farmer_id", "custodial_address", "stake_bps", "harvest_interval_blocks", "status"}
    assert waiting.id != active.id
