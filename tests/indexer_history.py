"""A devnet history for the indexer and audit tests: three blocks of farming with every case
the chain record must decode (zero-stake plants, work, failed calls with contract errors, a
harvest that mints nothing, payouts), made over HTTP with stellar-sdk, ledgers closed by hand.

`build_history` returns the transaction hashes by label and the block indexes, so a test
can look up the rows it expects; the `pool` fixture adds the records an honest pool keeps
of it, and `corrupt` changes one behind the pool's back.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stellar_sdk import Asset, Keypair, Payment, TransactionBuilder, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus, SendTransactionStatus

from chain import calls, storage
from chain.kale import count_zeros, kale_hash
from chain.rpc import ChainClient
from config.networks import DEVNET, Network
from db.attempts import TxAttempt
from db.chain_models import ChainTransaction
from db.models import Harvest, Payout, Planting, TxIntent, Work
from local.bench_indexer import devnet_network
from indexer.ingest import Indexer, open_cursor
from indexer.source import RpcSource
from tests.fixtures.devnet import Devnet, new_funded_farmer, send_and_wait

ROOT = Path(__file__).resolve().parents[1]
KALE = 10_000_000
WHALE_STAKE = 1_000_000 * KALE
LEDGERS_PER_BLOCK = 61  # 5 s ledgers: a block lasts 300 s


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A devnet of its own (ledgers closed by hand) with the farming history below."""
    node = Devnet(tmp_path_factory.mktemp("indexer-devnet"), close_interval=0)
    try:
        yield build_history(node)
    finally:
        node.stop()


def ingest(history: "History", scope: str = "all", max_ledgers: int = 200, **pages) -> Indexer:
    """Index the history's devnet from ledger 1 to its tip."""
    indexer = Indexer(RpcSource(history.devnet.rpc_url, **pages), history.network, scope, max_ledgers)
    open_cursor(scope, 1)
    indexer.run(catch_up_only=True)
    return indexer


def network_of(devnet: Devnet) -> Network:
    """The devnet's network profile (its RPC URL and contract ids)."""
    return devnet_network(devnet.info, devnet.rpc_url, DEVNET)


@dataclass
class History:
    """What was done on the devnet: accounts, transaction hashes by label, block indexes."""

    devnet: Devnet
    network: Network
    accounts: dict[str, Keypair] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    blocks: list[int] = field(default_factory=list)
    nonces: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return self.accounts[name].public_key

    def client(self) -> ChainClient:
        return ChainClient(self.network)


def envelope(devnet: Devnet, signer: Keypair, operations: list, sequence_offset: int = 0, prepare: bool = True):
    """A signed transaction of `operations` from `signer` (simulated first when `prepare`)."""
    server = devnet.server()
    account = server.load_account(signer.public_key)
    account.sequence += sequence_offset
    builder = TransactionBuilder(account, devnet.passphrase, base_fee=100).set_timeout(300)
    for operation in operations:
        builder.append_operation(operation)
    envelope = server.prepare_transaction(builder.build()) if prepare else builder.build()
    envelope.sign(signer)
    return envelope


def send_in_one_ledger(devnet: Devnet, envelopes: list) -> list[str]:
    """Submit envelopes, close one ledger (they apply in order), return their hashes."""
    server = devnet.server()
    for envelope in envelopes:
        sent = server.send_transaction(envelope)
        assert sent.status == SendTransactionStatus.PENDING, sent
    devnet.close_ledgers(1)
    return [envelope.hash_hex() for envelope in envelopes]


def farm_index(devnet: Devnet, network: Network) -> int:
    """The farm's current block index."""
    key = storage.instance_ledger_key(network.farm_contract)
    entry = devnet.server().get_ledger_entries([key]).entries[0]
    return storage.farm_state_from_instance(xdr.LedgerEntryData.from_xdr(entry.xdr)).index


def entropy(devnet: Devnet, network: Network, index: int) -> bytes:
    """Block `index`'s entropy."""
    entry = devnet.server().get_ledger_entries([storage.block_ledger_key(network.farm_contract, index)]).entries[0]
    return storage.block_from_scval(xdr.LedgerEntryData.from_xdr(entry.xdr).contract_data.val).entropy


def find_nonce(index: int, entropy: bytes, farmer: str, zeros: int) -> tuple[int, bytes]:
    """The first nonce whose KALE hash has exactly `zeros` leading zero nibbles, and the hash."""
    nonce = 0
    while count_zeros(kale_hash(index, nonce, entropy, farmer)) != zeros:
        nonce += 1
    return nonce, kale_hash(index, nonce, entropy, farmer)


def build_history(devnet: Devnet) -> History:
    """Three blocks: i (plants, works, failures), i+1 (the zero-reward case), i+2 (harvests, payouts)."""
    network = network_of(devnet)
    history = History(devnet, network)
    for name, kale in (("a", 100 * KALE), ("b", 0), ("whale", 2 * WHALE_STAKE), ("pooler", 0), ("payee", 0)):
        history.accounts[name] = new_funded_farmer(devnet, kale=kale)
    a, b, whale, pooler = (history.accounts[n] for n in ("a", "b", "whale", "pooler"))
    farm = network.farm_contract
    devnet.close_ledgers(LEDGERS_PER_BLOCK)

    def plant(farmer: Keypair, amount: int, offset: int = 0):
        return envelope(devnet, farmer, [calls.plant(farm, farmer.public_key, amount)], offset)

    def work(farmer: Keypair, index: int, zeros: int, offset: int = 0):
        nonce, digest = find_nonce(index, entropy(devnet, network, index), farmer.public_key, zeros)
        return envelope(devnet, pooler, [calls.work(farm, farmer.public_key, digest, nonce)], offset)

    # block i: a stakes 5 KALE (and a second plant in the same ledger fails: #8 PailExists),
    # b stakes nothing, the whale stakes a million KALE
    hashes = send_in_one_ledger(devnet, [plant(a, 5 * KALE), plant(a, KALE, 1), plant(b, 0),
                                         plant(whale, WHALE_STAKE)])
    history.hashes.update(zip(("plant_a", "plant_a_again", "plant_b_zero", "plant_whale"), hashes))
    block = farm_index(devnet, network)
    history.blocks.append(block)
    history.hashes["work_b"], history.hashes["work_whale"] = send_in_one_ledger(
        devnet, [work(b, block, 0), work(whale, block, 0, 1)])
    devnet.close_ledgers(2)
    # two works of a with the same zeros in one ledger: the second fails, #7 ZeroCountTooLow
    history.hashes["work_a"], history.hashes["work_a_again"] = send_in_one_ledger(
        devnet, [work(a, block, 2), work(a, block, 2, 1)])
    devnet.close_ledgers(LEDGERS_PER_BLOCK)

    # block i+1: b's minimal work against the whale's stake earns floor(3 x reward / 10^13) = 0
    history.hashes["plant_b_zero_2"], history.hashes["plant_whale_2"] = send_in_one_ledger(
        devnet, [plant(b, 0), plant(whale, WHALE_STAKE)])
    history.blocks.append(farm_index(devnet, network))
    history.hashes["work_b_2"], history.hashes["work_whale_2"] = send_in_one_ledger(
        devnet, [work(b, history.blocks[1], 0), work(whale, history.blocks[1], 0, 1)])
    devnet.close_ledgers(LEDGERS_PER_BLOCK)

    # block i+2: harvests (a twice in one ledger: the second fails, #9 PailMissing), a payout
    history.hashes["plant_a_3"] = send_in_one_ledger(devnet, [plant(a, 0)])[0]
    history.blocks.append(farm_index(devnet, network))
    harvest = calls.harvest
    hashes = send_in_one_ledger(devnet, [
        envelope(devnet, a, [harvest(farm, a.public_key, history.blocks[0])]),
        envelope(devnet, a, [harvest(farm, a.public_key, history.blocks[0])], 1),
        envelope(devnet, b, [harvest(farm, b.public_key, history.blocks[1])]),
    ])
    history.hashes.update(zip(("harvest_a", "harvest_a_again", "harvest_b_zero"), hashes))
    kale = Asset(network.kale_asset_code, network.kale_asset_issuer)
    payout = envelope(devnet, a, [Payment(history.address("payee"), kale, "3"),
                                   Payment(history.address("payee"), Asset.native(), "1.5")], prepare=False)
    assert send_and_wait(devnet, payout).status == GetTransactionStatus.SUCCESS
    history.hashes["payout_a"] = payout.hash_hex()
    devnet.close_ledgers(2)
    return history


CHAIN_TABLES = {"chain_ledgers": "sequence", "chain_transactions": "hash", "chain_kale_movements": "id",
                "indexer_cursor": "scope"}


def dump_chain_tables(database) -> dict[str, str]:
    """Each chain table as PostgreSQL's COPY text, ordered by its key: equal dumps are equal bytes."""
    dumps = {}
    cursor = database.connection().cursor()
    for table, key in CHAIN_TABLES.items():
        buffer = io.StringIO()
        cursor.copy_expert(f"COPY (SELECT * FROM {table} ORDER BY {key}) TO STDOUT", buffer)
        dumps[table] = buffer.getvalue()
    return dumps


def _chain(history: History, label: str) -> ChainTransaction:
    return ChainTransaction.get_by_id(history.hashes[label])


def intent(farmer, key: str, action: str, hashes: list[str], status: str = "success", **fields) -> TxIntent:
    """An outbox intent of `farmer` whose attempts were `hashes` (the last is its tx_hash)."""
    row = TxIntent.create(idempotency_key=key, action=action, farmer=farmer.id, source=farmer.custodial_address,
                          tx_hash=hashes[-1], status=status, attempts=len(hashes), **fields)
    for number, tx_hash in enumerate(hashes, 1):
        TxAttempt.create(intent=row.id, attempt=number, source=farmer.custodial_address, sequence=number,
                         max_time=0, fee=100, tx_hash=tx_hash, envelope_xdr="AAAA")
    return row


@pytest.fixture
def pool(db, rows, history):
    """Farmers a and b with the records an honest pool keeps of the history, indexed."""
    pooler = rows.pooler(payout_address=history.address("pooler"))
    a = rows.farmer(pooler=pooler, custodial_address=history.address("a"), payout_address=history.address("payee"))
    b = rows.farmer(pooler=pooler, custodial_address=history.address("b"))
    # the pool sent the payout (its intent exists before the indexer sees it land)
    TxIntent.create(idempotency_key="payout:a", action="payout", farmer=a.id, source=a.custodial_address,
                    tx_hash=history.hashes["payout_a"], status="success", attempts=1)
    ingest(history, scope="pool")
    for farmer, label in ((a, "plant_a"), (a, "plant_a_3"), (b, "plant_b_zero"), (b, "plant_b_zero_2")):
        c = _chain(history, label)
        Planting.create(farmer=farmer.id, pooler=pooler.id, block_index=c.block_index, amount=c.stake,
                        tx_hash=c.hash, ledger=c.ledger)
        intent(farmer, f"plant:{farmer.id}:{c.block_index}", "plant", [c.hash], block_index=c.block_index,
               ledger=c.ledger)
    for farmer, label in ((a, "work_a"), (b, "work_b"), (b, "work_b_2")):
        c = _chain(history, label)
        Work.create(farmer=farmer.id, pooler=pooler.id, block_index=c.block_index, hash=bytes.fromhex(c.work_hash),
                    nonce=c.nonce, zeros=c.zeros, gap=c.gap, tx_hash=c.hash)
    for farmer, label in ((a, "harvest_a"), (b, "harvest_b_zero")):
        c = _chain(history, label)
        Harvest.create(farmer=farmer.id, block_index=c.block_index, reward=c.reward, tx_hash=c.hash, ledger=c.ledger)
    payout = _chain(history, "payout_a")
    for asset, amount in (("KALE", 3 * KALE), ("XLM", 15_000_000)):
        Payout.create(farmer=a.id, recipient="farmer", destination=history.address("payee"), asset=asset,
                      amount=amount, status="confirmed", tx_hash=payout.hash, ledger=payout.ledger)
    return {"a": a, "b": b, "pooler": pooler}


def corrupt(sql: str, *params) -> None:
    """Change an append-only pool record behind the pool's back (triggers off for this statement)."""
    database = Planting._meta.database
    with database.atomic():
        database.execute_sql("SET LOCAL session_replication_role = replica")
        database.execute_sql(sql, params)


def pool_env(database: str, rpc_url: str) -> dict[str, str]:
    """The environment of a `manage.py` command of a devnet pool on `database` and `rpc_url`."""
    return {**os.environ, "DATABASE_URL": database, "KALEPOOL_RPC_URL": rpc_url, "KALEPOOL_NETWORK": "devnet",
            "KALEPOOL_LOG_LEVEL": "warning"}


def manage(*args: str, database: str, rpc_url: str) -> subprocess.CompletedProcess:
    """Run `manage.py args...` to completion."""
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=pool_env(database, rpc_url),
                          capture_output=True, text=True, timeout=120)
