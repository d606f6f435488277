"""With the indexer following the devnet (reconciling each closed block), KALE leaving a
leaving farmer's wallet in a transaction the pool did not send (a leaked custodial key) is
reported as an unexplained movement, and the farmer's exit is not paid."""
from __future__ import annotations

import threading
import time

from stellar_sdk import Asset, Payment

from chain.transactions import build_classic, valid_until
from db.chain_models import Discrepancy
from db.models import Farmer, Harvest, Payout, Settlement
from indexer.cli import Watch
from indexer.ingest import Indexer, open_cursor
from indexer.source import RpcSource
from jobs.settlement import waiting_for


def test_kale_leaving_a_leaving_farmers_wallet_unexplained_holds_back_its_exit_payout(pool_harness):
    network = pool_harness.settings.network
    open_cursor("pool", pool_harness.devnet.latest_ledger())
    indexer = Indexer(RpcSource(network.rpc_url), network, "pool", poll_interval=0.05,
                      after_store=Watch(network, "pool"))
    stop = threading.Event()
    follower = threading.Thread(target=indexer.run, kwargs={"stop": stop})
    follower.start()
    try:
        pooler = pool_harness.new_pooler()
        farmer = pool_harness.new_farmer(pooler)
        pool_harness.new_farmer(pooler)  # stays, so the pool keeps opening blocks
        pool_harness.plant_and_work(pooler)
        assert pool_harness.api("POST", "/farmers/me/exit", token=farmer.token, json={}).status_code == 202
        pool_harness.wait_until_block_can_open()
        pool_harness.plant(pooler)
        pool_harness.pool.harvester.run_pass()
        pool_harness.resolve_all()
        assert Harvest.select().where(Harvest.farmer == farmer.id).count() == 1
        client, network = pool_harness.client, pool_harness.settings.network
        thief = pool_harness.account_with_trustline()
        envelope = build_classic(client, farmer.address, client.account(farmer.address).sequence,
                                 [Payment(thief.public_key, Asset(network.kale_asset_code, network.kale_asset_issuer),
                                          "1")], 100, valid_until(client, 60))
        pool_harness.pool.custody.sign_transaction(Farmer.get_by_id(farmer.id), envelope)  # a leaked key
        assert client.wait_for(client.send(envelope.to_xdr()).hash).status.value == "SUCCESS"
        pool_harness.wait_until_block_can_open()
        pool_harness.plant(pooler)  # a block closes: the indexer reconciles

        deadline = time.monotonic() + 30
        while not Discrepancy.select().where(Discrepancy.farmer_id == farmer.id).exists():
            assert time.monotonic() < deadline, "no discrepancy reported"
            time.sleep(0.1)
        [found] = Discrepancy.select().where(Discrepancy.farmer_id == farmer.id)
        assert found.kind == "unexplained_movement"
        assert (found.chain_side["amount"], found.chain_side["counterparty"]) == (-10_000_000, thief.public_key)
        for _ in range(3):
            pool_harness.pool.settler.run_pass()
            pool_harness.resolve_all()
        assert "discrepanc" in waiting_for(Farmer.get_by_id(farmer.id))
        assert Farmer.get_by_id(farmer.id).status == "leaving"
        assert Settlement.select().count() == 0 and Payout.select().count() == 0
    finally:
        stop.set()
        follower.join(30)
