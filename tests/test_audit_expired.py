"""A worked pail left unharvested until the chain evicted it is reported as expired: the farmer
lost its stake and reward, and the pool never recorded why."""
from __future__ import annotations

from stellar_sdk import Keypair

from chain import calls
from chain.rpc import ChainClient
from db.models import Planting, Work
from indexer.reconcile import reconcile
from tests.fixtures.devnet import new_funded_farmer
from tests.indexer_history import (KALE, LEDGERS_PER_BLOCK, entropy, envelope, farm_index, find_nonce, ingest,
                                   network_of, send_in_one_ledger)


def test_a_worked_pail_evicted_before_its_harvest_is_reported_as_expired(db, rows, devnet_factory):
    node = devnet_factory(temp_ttl=20)
    network = network_of(node)
    farmer, pooler = new_funded_farmer(node, kale=10 * KALE), new_funded_farmer(node, kale=0)
    node.close_ledgers(LEDGERS_PER_BLOCK)

    def plant(keypair: Keypair) -> str:
        return send_in_one_ledger(node, [envelope(node, keypair, [calls.plant(network.farm_contract,
                                                                              keypair.public_key, KALE)])])[0]

    plant_hash = plant(farmer)
    index = farm_index(node, network)
    nonce, digest = find_nonce(index, entropy(node, network, index), farmer.public_key, 1)
    send_in_one_ledger(node, [envelope(node, pooler, [calls.work(network.farm_contract, farmer.public_key,
                                                                 digest, nonce)])])
    node.close_ledgers(LEDGERS_PER_BLOCK)  # the block ends; 20-ledger pails are long gone
    plant(new_funded_farmer(node, kale=10 * KALE))  # opens the next block: `index` is closed
    row = rows.farmer(custodial_address=farmer.public_key)
    history = type("History", (), {"devnet": node, "network": network})
    ingest(history, scope="pool")
    Planting.create(farmer=row.id, pooler=row.pooler_id, block_index=index, amount=KALE, tx_hash=plant_hash,
                    ledger=node.latest_ledger() - LEDGERS_PER_BLOCK - 5)
    Work.create(farmer=row.id, pooler=row.pooler_id, block_index=index, hash=digest, nonce=nonce, zeros=1,
                gap=1)

    [found] = reconcile(network, client=ChainClient(network))
    assert (found.kind, found.farmer_id, found.block_index) == ("pail_expired", row.id, index)
    assert found.chain_side == {"plant_tx": plant_hash, "stake": KALE, "worked": True, "pail": "gone"}
