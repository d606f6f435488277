"""`manage.py bench indexer`: backfill rate over a devnet history of KALE transactions, and the
indexer's lag behind the tip while ledgers keep closing under load.

Starts its own devnet (a child process, ledgers closed by the benchmark), farms it: N farmers
plant, a pooler works every pail, the farmers harvest the block before, block after block,
until the history holds the requested number of KALE transactions (`--history-dir` keeps it
for the next run). Then indexes it from ledger 1 into a fresh database (--scope all: every
farm call decoded) and prints transactions/s; then closes a ledger every `--close-every`
seconds with KALE payments in each while the indexer follows, and prints its lag.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
import json
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import requests
from stellar_sdk import Account, Asset, Keypair, Payment, SorobanServer, TransactionBuilder, xdr

from chain import calls, storage
from chain.kale import kale_hash
from devnet.controller import LocalDevnet
from config import Network, load_settings
from db.cluster import ClusterError, create_database, database_url, drop_database
from db.connection import close_database, init_database
from db.migrate import migrate
from db.chain_models import IndexerCursor
from indexer.ingest import Indexer, open_cursor
from indexer.source import RpcSource

LEDGERS_PER_BLOCK = 61  # 5 s devnet ledgers: one KALE block is 300 s
STAKE = 10_000_000


class History:
    """Drives the devnet: accounts, prepared (simulated, signed) invocations, ledger closes."""

    def __init__(self, devnet: LocalDevnet, network: Network, threads: int = 4):
        self.devnet = devnet
        self.network = network
        self.server = SorobanServer(devnet.rpc_url)
        self.http = requests.Session()
        self.threads = threads
        self.sent = 0

    def close(self, count: int = 1) -> int:
        return self.devnet.call("devnet_closeLedgers", {"count": count})["latestLedger"]

    def send(self, envelope_xdr: str) -> None:
        """sendTransaction; it must be accepted (PENDING)."""
        reply = self.http.post(self.devnet.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "sendTransaction",
                                                          "params": {"transaction": envelope_xdr}}).json()
        if reply.get("result", {}).get("status") != "PENDING":
            raise click.ClickException(f"sendTransaction: {reply}")
        self.sent += 1

    def send_all(self, envelopes: list[str]) -> None:
        """Submit in order, then close one ledger (all of them apply in it)."""
        for envelope in envelopes:
            self.send(envelope)
        self.close()

    def prepared(self, signer: Keypair, sequence: int, operation) -> str:
        envelope = TransactionBuilder(Account(signer.public_key, sequence), self.network.passphrase, 100) \
            .append_operation(operation).add_time_bounds(0, 0).build()
        envelope = self.server.prepare_transaction(envelope)
        envelope.sign(signer)
        return envelope.to_xdr()

    def accounts(self, count: int, kale: int) -> list[Keypair]:
        """`count` funded accounts with a KALE trustline and `kale` stroops."""
        keys = [Keypair.random() for _ in range(count)]
        asset = Asset(self.network.kale_asset_code, self.network.kale_asset_issuer)
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(lambda k: self.devnet.fund(k.public_key), keys))
            sequences = list(pool.map(lambda k: self.server.load_account(k.public_key).sequence, keys))
        for key, sequence in zip(keys, sequences):
            envelope = TransactionBuilder(Account(key.public_key, sequence), self.network.passphrase, 100) \
                .append_change_trust_op(asset).add_time_bounds(0, 0).build()
            envelope.sign(key)
            self.send(envelope.to_xdr())
        self.close()
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(lambda k: self.devnet.mint(k.public_key, kale), keys))
        return keys

    def farm_index(self) -> int:
        key = storage.instance_ledger_key(self.network.farm_contract)
        entry = self.server.get_ledger_entries([key]).entries[0]
        return storage.farm_state_from_instance(xdr.LedgerEntryData.from_xdr(entry.xdr)).index

    def entropy(self, index: int) -> bytes:
        key = storage.block_ledger_key(self.network.farm_contract, index)
        entry = self.server.get_ledger_entries([key]).entries[0]
        return storage.block_from_scval(xdr.LedgerEntryData.from_xdr(entry.xdr).contract_data.val).entropy

    def farm_block(self, farmers: list[Keypair], pooler: Keypair, previous: int | None) -> int:
        """One block: every farmer plants (and harvests `previous`), the pooler works every pail."""
        farm = self.network.farm_contract
        with ThreadPoolExecutor(self.threads) as pool:
            sequences = list(pool.map(lambda k: self.server.load_account(k.public_key).sequence, farmers))
            plants = list(pool.map(lambda ks: self.prepared(ks[0], ks[1], calls.plant(farm, ks[0].public_key, STAKE)),
                                   zip(farmers, sequences)))
        self.send_all(plants)
        index = self.farm_index()
        self.close(2)
        base = self.server.load_account(pooler.public_key).sequence
        entropy = self.entropy(index)
        works = [self.prepared(pooler, base + n,
                               calls.work(farm, f.public_key, kale_hash(index, 0, entropy, f.public_key), 0))
                 for n, f in enumerate(farmers)]
        self.send_all(works)
        if previous is not None:
            with ThreadPoolExecutor(self.threads) as pool:
                harvests = list(pool.map(
                    lambda ks: self.prepared(ks[0], ks[1] + 1, calls.harvest(farm, ks[0].public_key, previous)),
                    zip(farmers, sequences)))
            self.send_all(harvests)
        self.close(LEDGERS_PER_BLOCK)
        return index


def devnet_network(info: dict, rpc_url: str, base: Network) -> Network:
    """`base` with a devnet's RPC URL, passphrase and contract ids (its `devnet_info`)."""
    code, issuer = info["kale_asset"].split(":")
    return dataclasses.replace(base, rpc_url=rpc_url, passphrase=info["passphrase"],
                               farm_contract=info["farm_contract"], kale_sac=info["kale_sac"],
                               kale_asset_code=code, kale_asset_issuer=issuer)


@dataclass
class Steady:
    """What the steady phase saw: lag samples (ledgers behind the tip) and, per ledger, the
    seconds from its close until the indexer had stored it."""

    lags: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)


def _steady(indexer: Indexer, history: History, senders: list[Keypair], receiver: str, seconds: float,
            close_every: float, per_ledger: int) -> Steady:
    """Close a ledger every `close_every` s with `per_ledger` KALE payments in it while the indexer
    follows in a thread, and a sampler reads the cursor every 10 ms."""
    asset = Asset(history.network.kale_asset_code, history.network.kale_asset_issuer)
    sequences = {k.public_key: history.server.load_account(k.public_key).sequence for k in senders}
    seen, stop = Steady(), threading.Event()
    closed: dict[int, float] = {}
    tip = [history.close()]

    def sample() -> None:
        while not stop.wait(0.01):
            cursor = IndexerCursor.get_by_id(indexer.scope).ledger
            seen.lags.append(tip[0] - cursor)
            for ledger in [l for l in closed if l <= cursor]:
                seen.delays.append(time.monotonic() - closed.pop(ledger))

    threads = [threading.Thread(target=indexer.run, kwargs={"stop": stop}), threading.Thread(target=sample)]
    for thread in threads:
        thread.start()
    deadline, next_close, count = time.monotonic() + seconds, time.monotonic() + close_every, 0
    while time.monotonic() < deadline:
        for _ in range(per_ledger):
            sender = senders[count % len(senders)]
            count += 1
            envelope = TransactionBuilder(Account(sender.public_key, sequences[sender.public_key]),
                                          history.network.passphrase, 100) \
                .append_operation(Payment(receiver, asset, "0.0000001")).add_time_bounds(0, 0).build()
            sequences[sender.public_key] += 1
            envelope.sign(sender)
            history.send(envelope.to_xdr())
        time.sleep(max(0.0, next_close - time.monotonic()))
        next_close += close_every
        latest = history.close()
        closed[latest] = time.monotonic()
        tip[0] = latest
    time.sleep(close_every)
    stop.set()
    for thread in threads:
        thread.join(30)
    return seen


@click.command()
@click.option("--transactions", default=20_000, show_default=True, type=click.IntRange(100),
              help="KALE transactions (plants, works, harvests) in the history.")
@click.option("--farmers", default=500, show_default=True, type=click.IntRange(2, 5000))
@click.option("--history-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the devnet history here and reuse it next time.")
@click.option("--steady-seconds", default=20.0, show_default=True, type=click.FloatRange(1))
@click.option("--close-every", default=1.0, show_default=True, type=click.FloatRange(0.1),
              help="Wall seconds between ledger closes in the steady phase.")
@click.option("--payments-per-ledger", default=50, show_default=True, type=click.IntRange(0, 5000))
def bench_indexer(transactions: int, farmers: int, history_dir: Path | None, steady_seconds: float,
                  close_every: float, payments_per_ledger: int) -> None:
    """Indexer backfill rate (transactions/s) over a devnet history, and its steady-state lag."""
    settings = load_settings()
    try:
        server_url = database_url(settings)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    keep = history_dir is not None
    root = history_dir or Path(tempfile.mkdtemp(prefix="kalepool-bench-indexer-"))
    root.mkdir(parents=True, exist_ok=True)
    devnet = LocalDevnet(root / "chain", close_interval=0, log_path=root / "devnet.log").start()
    name = None
    try:
        network = devnet_network(devnet.call("devnet_info"), devnet.rpc_url, settings.network)
        history = History(devnet, network)
        made = root / "history.json"
        if made.exists():
            summary = json.loads(made.read_text())
            keys = [Keypair.from_secret(s) for s in summary["keys"]]
        else:
            click.echo(f"farming a devnet history of {transactions} KALE transactions "
                       f"({farmers} farmers)...", err=True)
            started = time.perf_counter()
            keys = history.accounts(farmers + 1, 100 * STAKE * (transactions // (3 * farmers) + 2))
            history.sent = 0
            previous = None
            while history.sent < transactions:
                previous = history.farm_block(keys[1:], keys[0], previous)
            summary = {"kale_transactions": history.sent, "keys": [k.secret for k in keys]}
            made.write_text(json.dumps(summary))
            click.echo(f"history made in {time.perf_counter() - started:.0f} s", err=True)
        tip = devnet.call("getLatestLedger")["sequence"]
        name, url = create_database(server_url, "kalepool_bench")
        migrate(url)
        init_database(url, pool_size=4)
        indexer = Indexer(RpcSource(devnet.rpc_url), network, "all", poll_interval=0.02)
        open_cursor("all", 1)
        started = time.perf_counter()
        indexer.run(until=tip)
        elapsed = time.perf_counter() - started
        stats = indexer.stats
        click.echo(f"backfill: {stats['transactions']} transactions in {stats['ledgers']} ledgers "
                   f"({stats['stored']} farm calls stored, {stats['movements']} KALE movements) in {elapsed:.1f} s "
                   f"= {stats['transactions'] / elapsed:.0f} transactions/s, "
                   f"{stats['ledgers'] / elapsed:.0f} ledgers/s")
        steady = _steady(indexer, history, keys[1:], keys[0].public_key, steady_seconds, close_every,
                         payments_per_ledger)
        delays = sorted(1000 * d for d in steady.delays)
        click.echo(f"steady state: a ledger every {close_every} s with {payments_per_ledger} KALE payments, "
                   f"{len(delays)} ledgers: lag behind the tip at most {max(steady.lags)} ledger(s) "
                   f"({100 * sum(1 for lag in steady.lags if lag == 0) / len(steady.lags):.0f} % of "
                   f"{len(steady.lags)} samples at 0); a ledger is stored {statistics.median(delays):.0f} ms "
                   f"(p50), {delays[int(0.99 * (len(delays) - 1))]:.0f} ms (p99) after it closes")
    finally:
        close_database()
        devnet.stop()
        if name is not None:
            drop_database(server_url, name)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
