"""Farmer endpoints: register, read, change, history, exit."""
from stellar_sdk import Keypair, StrKey

from db.models import Farmer, Harvest, Planting, Pooler, Work


def test_registering_creates_a_custodial_wallet_and_shows_the_token_once(client, pooler):
    payout = Keypair.random().public_key
    response = client.post("/api/v1/farmers", json={"payout_address": payout, "pooler_id": pooler.id,
                                                     "stake_bps": 2500, "harvest_interval_blocks": 24})
    assert response.status_code == 201
    data = response.get_json()
    assert StrKey.is_valid_ed25519_public_key(data["custodial_address"])
    assert data["api_token"].startswith("kpf_")
    assert data["status"] == "awaiting_funding" and data["stake_bps"] == 2500
    assert data["funding"]["address"] == data["custodial_address"]
    row = Farmer.get_by_id(data["farmer_id"])
    assert row.api_token_hash != data["api_token"] and data["api_token"] not in row.api_token_hash
    me = client.get("/api/v1/farmers/me", headers={"Authorization": f"Bearer {data['api_token']}"}).get_json()
    assert "api_token" not in me and me["payout_address"] == payout


def test_harvest_interval_defaults_to_the_configured_one(make_farmer, api_settings):
    assert make_farmer().data["harvest_interval_blocks"] == api_settings.default_harvest_interval_blocks


def test_get_me_shows_the_farmer_with_its_balances_and_exit_preview(client, farmer):
    response = client.get("/api/v1/farmers/me", headers=farmer.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["farmer_id"] == farmer.id
    assert (body["balances"]["kale"], body["balances"]["staked"]) == (0, 0)
    assert body["exit_preview"] == {"poolers": [], "creditors": [], "farmer_kale": 0,
                                    "farmer_xlm": body["balances"]["xlm"]}


def test_patch_changes_stake_and_interval(client, farmer):
    response = client.patch("/api/v1/farmers/me", json={"stake_bps": 10000, "harvest_interval_blocks": 100},
                            headers=farmer.headers)
    assert response.status_code == 200
    row = Farmer.get_by_id(farmer.id)
    assert (row.stake_bps, row.harvest_interval_blocks) == (10000, 100)


def test_patch_moves_to_another_pooler_while_nothing_is_planted(client, farmer, make_pooler):
    other = make_pooler()
    response = client.patch("/api/v1/farmers/me", json={"pooler_id": other.id}, headers=farmer.headers)
    assert response.status_code == 200 and response.get_json()["pooler_id"] == other.id


def test_patch_moves_to_another_pooler_while_a_pail_is_planted_which_stays_the_old_poolers(
        client, farmer, pooler, make_pooler):
    Planting.create(farmer=farmer.id, pooler=pooler.id, block_index=5, amount=100)
    other = make_pooler()
    response = client.patch("/api/v1/farmers/me", json={"pooler_id": other.id}, headers=farmer.headers)
    assert response.status_code == 200 and response.get_json()["pooler_id"] == other.id
    assert Planting.get(Planting.farmer == farmer.id).pooler_id == pooler.id


def test_joining_a_pooler_whose_seats_active_farmers_hold_is_refused(client, make_pooler, make_farmer):
    from db.models import Farmer

    small = make_pooler(capacity=1)
    seated = make_farmer(pooler_id=small.id)
    Farmer.update(status="active").where(Farmer.id == seated.id).execute()  # funded and activated
    response = client.post("/api/v1/farmers", json={"payout_address": Keypair.random().public_key,
                                                     "pooler_id": small.id, "stake_bps": 1})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "pooler_full"
    assert Farmer.select().count() == 1


def test_joining_an_inactive_or_missing_pooler_is_refused(client, pooler):
    Pooler.update(active=False).execute()
    for pooler_id in (pooler.id, 999):
        response = client.post("/api/v1/farmers", json={"payout_address": Keypair.random().public_key,
                                                         "pooler_id": pooler_id, "stake_bps": 1})
        assert response.status_code == 400 and "pooler_id" in response.get_json()["error"]["message"]
    assert Farmer.select().count() == 0


def test_exit_is_accepted_once(client, farmer):
    response = client.post("/api/v1/farmers/me/exit", headers=farmer.headers)
    assert response.status_code == 202 and response.get_json()["status"] == "leaving"
    again = client.post("/api/v1/farmers/me/exit", headers=farmer.headers)
    assert again.status_code == 409


def test_a_leaving_farmer_cannot_change_its_settings(client, farmer):
    client.post("/api/v1/farmers/me/exit", headers=farmer.headers)
    response = client.patch("/api/v1/farmers/me", json={"stake_bps": 1}, headers=farmer.headers)
    assert response.status_code == 409 and Farmer.get_by_id(farmer.id).stake_bps == 5000


def test_history_lists_every_kind_newest_first_and_pages(client, farmer, pooler):
    for block in (1, 2):
        Planting.create(farmer=farmer.id, pooler=pooler.id, block_index=block, amount=10 * block)
    Work.create(farmer=farmer.id, pooler=pooler.id, block_index=1, hash=bytes(32), nonce=2**64 - 1, zeros=9)
    Harvest.create(farmer=farmer.id, block_index=1, reward=2**100)
    page = client.get("/api/v1/farmers/me/history?limit=2", headers=farmer.headers).get_json()
    assert page["total"] == 4 and len(page["events"]) == 2
    everything = client.get("/api/v1/farmers/me/history", headers=farmer.headers).get_json()["events"]
    assert {event["kind"] for event in everything} == {"planting", "work", "harvest"}
    harvest = next(event for event in everything if event["kind"] == "harvest")
    assert harvest["amount"] == 2**100
    work = next(event for event in everything if event["kind"] == "work")
    assert work["nonce"] == 2**64 - 1 and work["zeros"] == 9
    plantings = client.get("/api/v1/farmers/me/history?kind=planting&offset=1",
                           headers=farmer.headers).get_json()
    assert plantings["total"] == 2 and len(plantings["events"]) == 1


def test_history_shows_only_the_callers_events(client, make_farmer, pooler):
    first, second = make_farmer(), make_farmer()
    Planting.create(farmer=second.id, pooler=pooler.id, block_index=1, amount=1)
    assert client.get("/api/v1/farmers/me/history", headers=first.headers).get_json()["total"] == 0
