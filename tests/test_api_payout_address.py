"""Changing the payout address is guarded twice: a stolen token alone cannot redirect a farmer's money."""
import datetime

from stellar_sdk import Keypair

from db.models import Farmer, PayoutAddressChange, TxIntent
from db.payout_address import effective_payout_address
from tests.signing import registered_farmer, signed_challenge
from jobs.settlement import waiting_for


def change(harness, token: str, address: str, transaction: str | None = None):
    body = {"address": address} if transaction is None else {"address": address, "transaction": transaction}
    return harness.api("POST", "/farmers/me/payout-address", token=token, json=body)


def build_payout(harness, farmer, rounds: int = 20) -> None:
    """Run the scheduler's and the indexer's passes until the leaving farmer's payout is built."""
    built = TxIntent.select().where(TxIntent.farmer == farmer.id, TxIntent.action == "payout")
    for _ in range(rounds):
        harness.index_and_reconcile()
        harness.pool.settler.run_pass()
        harness.resolve_all()
        if built.exists():
            return
    raise AssertionError(f"no payout built for farmer {farmer.id}: "
                         f"{waiting_for(Farmer.get_by_id(farmer.id))}")


def make_due(farmer_id: int) -> None:
    """As if the delay had passed: the pending change's due time moves into the past."""
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    (PayoutAddressChange.update(effective_at=past)
     .where(PayoutAddressChange.farmer == farmer_id, PayoutAddressChange.status == "pending").execute())


def test_a_change_signed_by_the_current_payout_address_applies_at_once(pool_harness):
    farmer = pool_harness.new_farmer(pool_harness.new_pooler())
    new = pool_harness.account_with_trustline().public_key

    response = change(pool_harness, farmer.token, new, signed_challenge(pool_harness, farmer.payout))

    assert response.status_code == 200, response.text
    assert response.json()["payout_address"] == new and response.json()["pending_payout_address"] is None
    assert Farmer.get_by_id(farmer.id).payout_address == new
    record = PayoutAddressChange.get(PayoutAddressChange.farmer == farmer.id)
    assert (record.old_address, record.method, record.status) == (farmer.payout.public_key, "signed", "applied")


def test_a_challenge_signed_by_another_account_cannot_change_it(pool_harness):
    farmer = pool_harness.new_farmer(pool_harness.new_pooler())
    thief = Keypair.random()

    response = change(pool_harness, farmer.token, thief.public_key, signed_challenge(pool_harness, thief))

    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_challenge"
    assert Farmer.get_by_id(farmer.id).payout_address == farmer.payout.public_key


def test_without_a_signature_an_address_that_exists_on_chain_cannot_be_changed(pool_harness):
    farmer = pool_harness.new_farmer(pool_harness.new_pooler())

    response = change(pool_harness, farmer.token, Keypair.random().public_key)

    assert response.status_code == 403 and response.json()["error"]["code"] == "signature_required"
    assert Farmer.get_by_id(farmer.id).payout_address == farmer.payout.public_key
    assert PayoutAddressChange.select().count() == 0


def test_without_a_signature_a_never_existing_address_is_changed_after_a_visible_delay(pool_harness):
    old = Keypair.random().public_key
    created = registered_farmer(pool_harness, old)
    new = Keypair.random().public_key

    response = change(pool_harness, created["api_token"], new)

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["payout_address"] == old and view["pending_payout_address"] == new
    effective_at = datetime.datetime.fromisoformat(view["payout_address_effective_at"])
    delay = pool_harness.settings.payout_address_change_delay_seconds
    assert effective_at > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delay - 600)
    farmer = Farmer.get_by_id(created["farmer_id"])
    assert effective_payout_address(farmer, pool_harness.client) == old


def test_a_delayed_change_takes_effect_once_due(pool_harness):
    created = registered_farmer(pool_harness, Keypair.random().public_key)
    new = Keypair.random().public_key
    assert change(pool_harness, created["api_token"], new).status_code == 200

    make_due(created["farmer_id"])

    farmer = Farmer.get_by_id(created["farmer_id"])
    assert effective_payout_address(farmer, pool_harness.client) == new
    view = pool_harness.api("GET", "/farmers/me", token=created["api_token"]).json()
    assert view["payout_address"] == new and view["pending_payout_address"] is None
    assert PayoutAddressChange.get(PayoutAddressChange.farmer == farmer.id).status == "applied"


def test_the_farmer_view_applies_a_due_change_when_read(pool_harness):
    created = registered_farmer(pool_harness, Keypair.random().public_key)
    new = Keypair.random().public_key
    assert change(pool_harness, created["api_token"], new).status_code == 200

    make_due(created["farmer_id"])

    view = pool_harness.api("GET", "/farmers/me", token=created["api_token"]).json()
    assert view["payout_address"] == new and view["payout_address_effective_at"] is None
    assert Farmer.get_by_id(created["farmer_id"]).payout_address == new


def test_a_delayed_change_is_dropped_when_the_current_address_comes_to_exist(pool_harness):
    old = Keypair.random()
    created = registered_farmer(pool_harness, old.public_key)
    assert change(pool_harness, created["api_token"], Keypair.random().public_key).status_code == 200
    pool_harness.devnet.fund(old.public_key)

    make_due(created["farmer_id"])

    view = pool_harness.api("GET", "/farmers/me", token=created["api_token"]).json()
    assert view["payout_address"] == old.public_key and view["pending_payout_address"] is None
    record = PayoutAddressChange.get(PayoutAddressChange.farmer == created["farmer_id"])
    assert record.status == "cancelled" and "exists on chain" in record.reason


def test_the_farmer_can_cancel_a_delayed_change(pool_harness):
    old = Keypair.random().public_key
    created = registered_farmer(pool_harness, old)
    assert change(pool_harness, created["api_token"], Keypair.random().public_key).status_code == 200

    response = pool_harness.api("DELETE", "/farmers/me/payout-address/pending", token=created["api_token"])

    assert response.status_code == 200
    assert response.json()["pending_payout_address"] is None and response.json()["payout_address"] == old
    make_due(created["farmer_id"])
    assert effective_payout_address(Farmer.get_by_id(created["farmer_id"]), pool_harness.client) == old
    again = pool_harness.api("DELETE", "/farmers/me/payout-address/pending", token=created["api_token"])
    assert again.status_code == 404


def test_a_signed_change_supersedes_a_pending_one(pool_harness):
    old = Keypair.random()
    created = registered_farmer(pool_harness, old.public_key)
    assert change(pool_harness, created["api_token"], Keypair.random().public_key).status_code == 200
    new = Keypair.random().public_key

    response = change(pool_harness, created["api_token"], new, signed_challenge(pool_harness, old))

    assert response.status_code == 200
    assert response.json()["payout_address"] == new and response.json()["pending_payout_address"] is None
    statuses = [c.status for c in PayoutAddressChange.select().order_by(PayoutAddressChange.id)]
    assert statuses == ["cancelled", "applied"]


def test_the_payout_address_cannot_change_once_the_payout_is_built(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    assert pool_harness.api("POST", "/farmers/me/exit", token=farmer.token, json={}).status_code == 202
    build_payout(pool_harness, farmer)

    response = change(pool_harness, farmer.token, Keypair.random().public_key,
                      signed_challenge(pool_harness, farmer.payout))

    assert response.status_code == 409 and response.json()["error"]["code"] == "payout_built"
    assert Farmer.get_by_id(farmer.id).payout_address == farmer.payout.public_key


def test_a_leaving_farmer_may_change_its_payout_address_until_the_payout_is_built(pool_harness):
    farmer = pool_harness.new_farmer(pool_harness.new_pooler())
    assert pool_harness.api("POST", "/farmers/me/exit", token=farmer.token, json={}).status_code == 202
    new = pool_harness.account_with_trustline()

    response = change(pool_harness, farmer.token, new.public_key, signed_challenge(pool_harness, farmer.payout))

    assert response.status_code == 200 and response.json()["payout_address"] == new.public_key


def test_a_due_change_is_dropped_if_the_payout_was_built_first(pool_harness):
    created = registered_farmer(pool_harness, Keypair.random().public_key)
    assert change(pool_harness, created["api_token"], Keypair.random().public_key).status_code == 200
    farmer = Farmer.get_by_id(created["farmer_id"])
    TxIntent.create(idempotency_key="payout:test", action="payout", farmer=farmer.id,
                    source=farmer.custodial_address, status="submitted")

    make_due(farmer.id)

    assert effective_payout_address(farmer, pool_harness.client) == farmer.payout_address
    assert PayoutAddressChange.get(PayoutAddressChange.farmer == farmer.id).status == "cancelled"


def test_a_custodial_or_pooler_address_is_refused_at_registration(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    for address in (farmer.address, pooler.keypair.public_key):
        response = pool_harness.api("POST", "/farmers", json={"payout_address": address, "pooler_id": pooler.id,
                                                              "stake_bps": 5000})
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_field"
        assert "payout_address" in response.json()["error"]["message"]
    assert Farmer.select().count() == 1


def test_a_custodial_or_pooler_address_is_refused_as_a_new_payout_address(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    other = pool_harness.new_farmer(pooler)
    for address in (farmer.address, other.address, pooler.keypair.public_key):
        response = change(pool_harness, farmer.token, address, signed_challenge(pool_harness, farmer.payout))
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_field"
        assert "cannot be a payout address" in response.json()["error"]["message"]
    assert Farmer.get_by_id(farmer.id).payout_address == farmer.payout.public_key
