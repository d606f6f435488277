"""The custody ledger on the devnet with the pool's real API, outbox and indexer: every KALE and
XLM movement of a custodial wallet is two entries that sum to zero, classified by what the chain
says happened whoever sent it, and a wallet's entries sum to its balances on chain."""
from __future__ import annotations

from peewee import fn
from stellar_sdk import Asset, Keypair, Payment

from chain import calls
from chain.kale import STROOPS_PER_KALE
from chain.transactions import build_classic, build_invocation, sign_with, valid_until
from db.chain_models import Discrepancy, IndexerCursor, settlement_blocker
from db.connection import database
from db.custody_ledger import entries, rewards_by_pooler, unexplained, wallet_balance
from db.models import Farmer
from indexer.custody_ledger import post_all
from indexer.reconcile import check_balances
from tests.indexer_history import manage
from tests.test_jobs_settlement import settle

KALE = STROOPS_PER_KALE


def unbalanced_movements() -> list:
    """Movements whose legs do not sum to zero (double entry says: none)."""
    return database.execute_sql("SELECT movement_id, sum(amount) FROM custody_entries GROUP BY movement_id "
                                "HAVING sum(amount) <> 0").fetchall()


def assert_ledger_is_the_chain(harness, address: str) -> None:
    """The wallet's KALE and XLM entries sum to its balances on chain, and reconciliation agrees."""
    account = harness.client.account(address)
    assert wallet_balance(address, "KALE") == (harness.client.kale_balance(address) or 0)
    assert wallet_balance(address, "XLM") == (account.balance if account else 0)
    assert check_balances(harness.client) == []
    assert unbalanced_movements() == []


def classes(address: str, asset: str | None = None) -> list[str]:
    return [e["class"] for e in entries(address) if asset is None or e["asset"] == asset]


def farm_to_harvest(harness, pooler, farmer_count: int = 2):
    """Farmers planted and worked in one block, then the next block opened: their first pails
    can be harvested. Returns the farmers and the first block's index."""
    farmers = [harness.new_farmer(pooler) for _ in range(farmer_count)]
    first = harness.plant_and_work(pooler)
    harness.wait_until_block_can_open()
    harness.plant(pooler)
    return farmers, first["plant"]["planted"][0]["block_index"]


def send_signed_by(harness, source: Keypair, operations: list) -> str:
    """A classic transaction from an account whose key the test holds; its hash once it landed."""
    client = harness.client
    envelope = build_classic(client, source.public_key, client.account(source.public_key).sequence, operations,
                             100, valid_until(client, 60))
    response = client.wait_for(client.send(sign_with(envelope, source)).hash)
    assert response.status.value == "SUCCESS", response
    return response.transaction_hash


def kale_asset(harness) -> Asset:
    return Asset(harness.settings.network.kale_asset_code, harness.settings.network.kale_asset_issuer)


def test_a_farmers_ledger_is_its_chain_balance_through_deposit_activation_plant_work_and_harvest(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer, _ = pool_harness.new_farmer(pooler), pool_harness.new_farmer(pooler)
    pool_harness.index_and_reconcile()
    assert_ledger_is_the_chain(pool_harness, farmer.address)  # funded, activated, KALE received
    block = pool_harness.plant_and_work(pooler)["plant"]["planted"][0]["block_index"]
    pool_harness.index_and_reconcile()
    assert_ledger_is_the_chain(pool_harness, farmer.address)  # planted and worked
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)
    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()
    pool_harness.index_and_reconcile()

    assert_ledger_is_the_chain(pool_harness, farmer.address)  # harvested
    assert classes(farmer.address, "XLM")[0] == "deposit"  # friendbot's create_account
    assert set(classes(farmer.address, "XLM")[1:]) == {"fee"}  # trustline, plants, harvest
    assert classes(farmer.address, "KALE")[:3] == ["deposit", "stake", "stake"]
    reward = [e for e in entries(farmer.address) if e["class"] == "reward"]
    assert [(e["block_index"], e["pooler_id"]) for e in reward] == [(block, pooler.id)]
    [pooled] = rewards_by_pooler(farmer.address).values()
    assert pooled["pails"] == 1 and pooled["rewards"] == reward[0]["amount"] > 0
    assert pooled["stakes"] == 50 * KALE  # half of the 100 KALE deposited
    assert Discrepancy.select().count() == 0


def test_the_ledger_rederived_from_stored_chain_rows_is_the_ledger_the_indexer_posted(pool_harness, postgres):
    pooler = pool_harness.new_pooler()
    (farmer, _), _ = farm_to_harvest(pool_harness, pooler)
    pool_harness.index_and_reconcile()
    posted = [{k: v for k, v in e.items() if k != "id"} for e in entries(farmer.address)]
    assert post_all(pool_harness.settings.network) == 0  # posting again adds nothing
    database.execute_sql("TRUNCATE custody_entries")  # as before migration 0005: chain rows, no ledger
    started = manage("indexer", "--once", database=postgres, rpc_url=pool_harness.devnet.rpc_url)
    assert started.returncode == 0, started.stderr
    assert [{k: v for k, v in e.items() if k != "id"} for e in entries(farmer.address)] == posted


def test_an_outsiders_harvest_is_the_farmers_reward_and_stake_returned_for_the_pooler_that_planted(pool_harness):
    pooler = pool_harness.new_pooler()
    (farmer, _), block = farm_to_harvest(pool_harness, pooler)
    outsider = pool_harness.account_with_trustline()
    client = pool_harness.client
    operation = calls.harvest(pool_harness.settings.network.farm_contract, farmer.address, block)
    envelope = build_invocation(client, outsider.public_key, client.account(outsider.public_key).sequence,
                                operation, 100, valid_until(client, 60))
    assert client.wait_for(client.send(sign_with(envelope, outsider)).hash).status.value == "SUCCESS"
    pool_harness.index_and_reconcile()

    assert_ledger_is_the_chain(pool_harness, farmer.address)
    harvested = {e["class"]: e for e in entries(farmer.address) if e["class"] in ("reward", "stake_returned")}
    assert harvested["stake_returned"]["amount"] == 50 * KALE and harvested["reward"]["amount"] > 0
    assert {(e["block_index"], e["pooler_id"]) for e in harvested.values()} == {(block, pooler.id)}
    assert harvested["reward"]["tx_hash"] == envelope.hash_hex()
    assert [e["class"] for e in entries(farmer.address) if e["tx_hash"] == envelope.hash_hex()] == \
        ["stake_returned", "reward"]  # the outsider paid the fee, not the wallet


def test_outsider_dust_is_a_deposit_and_the_poolers_payment_a_compensation(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    outsider = pool_harness.account_with_trustline()
    pool_harness.devnet.mint(outsider.public_key, 10)
    pool_harness.devnet.mint(pooler.keypair.public_key, 3 * KALE)
    dust = send_signed_by(pool_harness, outsider, [Payment(farmer.address, kale_asset(pool_harness), "0.0000001"),
                                                   Payment(farmer.address, Asset.native(), "0.0000002")])
    paid = send_signed_by(pool_harness, pooler.keypair, [Payment(farmer.address, kale_asset(pool_harness), "3")])
    pool_harness.index_and_reconcile()

    assert_ledger_is_the_chain(pool_harness, farmer.address)
    by_tx = {(e["tx_hash"], e["asset"]): e for e in entries(farmer.address)}
    assert (by_tx[dust, "KALE"]["class"], by_tx[dust, "KALE"]["amount"]) == ("deposit", 1)
    assert (by_tx[dust, "XLM"]["class"], by_tx[dust, "XLM"]["amount"]) == ("deposit", 2)
    assert by_tx[dust, "KALE"]["counterparty"] == outsider.public_key
    assert (by_tx[paid, "KALE"]["class"], by_tx[paid, "KALE"]["pooler_id"]) == ("compensation", pooler.id)
    assert Discrepancy.select().count() == 0


def test_a_transfer_signed_with_a_leaked_custodial_key_is_unexplained_and_holds_the_settlement(
        pool_harness, postgres):
    pooler = pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(pooler)
    thief = pool_harness.account_with_trustline()
    pool_harness.index_and_reconcile()
    assert settlement_blocker(farmer.id) is None

    def steal(kale: str) -> str:
        client, row = pool_harness.client, Farmer.get_by_id(farmer.id)
        envelope = build_classic(client, farmer.address, client.account(farmer.address).sequence,
                                 [Payment(thief.public_key, kale_asset(pool_harness), kale)], 100,
                                 valid_until(client, 60))
        pool_harness.pool.custody.sign_transaction(row, envelope)  # what a leaked key allows
        response = client.wait_for(client.send(envelope.to_xdr()).hash)
        assert response.status.value == "SUCCESS", response
        return response.transaction_hash

    stolen = steal("7")
    pool_harness.index_and_reconcile()
    assert_ledger_is_the_chain(pool_harness, farmer.address)
    [entry] = unexplained(farmer.address)
    assert (entry["amount"], entry["asset"], entry["counterparty"], entry["tx_hash"]) == \
        (-7 * KALE, "KALE", thief.public_key, stolen)
    [found] = Discrepancy.select().where(Discrepancy.kind == "unexplained_movement")
    assert found.farmer_id == farmer.id and found.chain_side["tx_hash"] == stolen
    assert "unexplained_movement" in settlement_blocker(farmer.id)
    audit = manage("audit", database=postgres, rpc_url=pool_harness.devnet.rpc_url)
    assert audit.returncode == 1 and "unexplained_movement" in audit.stdout

    Discrepancy.update(resolved_at=fn.now(), resolution="key rotated").execute()
    pool_harness.index_and_reconcile()
    assert settlement_blocker(farmer.id) is None  # acknowledged: the same movement is not raised again
    steal("1")  # the same fault again: raised again
    pool_harness.index_and_reconcile()
    assert Discrepancy.select().where(Discrepancy.kind == "unexplained_movement",
                                      Discrepancy.resolved_at.is_null()).count() == 1
    assert "unexplained_movement" in settlement_blocker(farmer.id)


def test_an_exit_payout_empties_the_wallet_in_the_ledger_as_on_chain(pool_harness):
    pooler = pool_harness.new_pooler()
    farmer, stays = pool_harness.new_farmer(pooler), pool_harness.new_farmer(pooler)
    pool_harness.plant_and_work(pooler)
    assert pool_harness.api("POST", "/farmers/me/exit", token=farmer.token, json={}).status_code == 202
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(pooler)
    settle(pool_harness, farmer)
    pool_harness.index_and_reconcile()

    assert_ledger_is_the_chain(pool_harness, farmer.address)
    assert wallet_balance(farmer.address, "KALE") == wallet_balance(farmer.address, "XLM") == 0
    payouts = [e for e in entries(farmer.address) if e["class"] == "payout"]
    assert {e["asset"] for e in payouts} == {"KALE", "XLM"}
    assert {e["counterparty"] for e in payouts} == {pooler.keypair.public_key, farmer.payout.public_key}
    assert unexplained(farmer.address) == []


def test_an_audit_that_cannot_reach_the_rpc_does_not_pass(pool_harness, postgres):
    pooler = pool_harness.new_pooler()
    pool_harness.new_farmer(pooler)
    pool_harness.index_and_reconcile()
    assert IndexerCursor.get_by_id("pool").ledger > 0
    result = manage("audit", database=postgres, rpc_url="http://127.0.0.1:9/rpc")
    assert result.returncode not in (0, 1) and "partial audit" in result.stderr


def test_after_a_pooler_switch_each_pails_reward_belongs_to_the_pooler_that_requested_its_plant(pool_harness):
    first, second = pool_harness.new_pooler(), pool_harness.new_pooler()
    farmer = pool_harness.new_farmer(first)
    pool_harness.new_farmer(first), pool_harness.new_farmer(second)  # they keep each pooler's blocks opening
    earlier = pool_harness.plant_and_work(first)["plant"]["planted"][0]["block_index"]
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(second)  # the next block opens; the farmer (still the first pooler's) is not planted
    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()
    switched = pool_harness.api("PATCH", "/farmers/me", token=farmer.token, json={"pooler_id": second.id})
    assert switched.status_code == 200, switched.text
    later = next(p["block_index"] for p in pool_harness.plant_and_work(second)["plant"]["planted"]
                 if p["address"] == farmer.address)
    pool_harness.wait_until_block_can_open()
    pool_harness.plant(first)
    pool_harness.pool.harvester.run_pass()
    pool_harness.resolve_all()
    pool_harness.index_and_reconcile()

    assert_ledger_is_the_chain(pool_harness, farmer.address)
    rewards = rewards_by_pooler(farmer.address)
    assert set(rewards) == {first.id, second.id}
    assert rewards[first.id]["pails"] == rewards[second.id]["pails"] == 1
    by_block = {e["block_index"]: e["pooler_id"] for e in entries(farmer.address) if e["class"] == "reward"}
    assert by_block == {earlier: first.id, later: second.id}
