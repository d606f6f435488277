"""`manage.py bench devnet`: sustained KALE invocations applied per second, and simulate latency.

Starts its own devnet (devnet.controller.LocalDevnet: a subprocess on a port it
picks, manual closes, temporary state), creates N farmers with trustlines and KALE, then measures: simulate
latency while preparing every plant and work, and the rate at which N plants
(from N sources, several client threads) and N works (all from one pooler
account, chained sequence numbers) are sent and applied while a ledger closes
every --close-every seconds.
"""
from __future__ import annotations

import http.client
import json
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import click
from stellar_sdk import Account, Keypair, TransactionBuilder, xdr

from chain import calls, storage
from chain.amounts import format_stroops
from chain.kale import kale_hash
from devnet import genesis
from devnet.controller import DevnetError, LocalDevnet

OPS_PER_SETUP_TX = 100
CALL_TIMEOUT = 300  # a close applying 20,000 transactions takes a while


def _connect(node: LocalDevnet) -> http.client.HTTPConnection:
    """A keep-alive connection for senders (lighter than requests, so the client steals less CPU)."""
    url = urlparse(node.rpc_url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=300)


def _send(connection: http.client.HTTPConnection, envelope_b64: str) -> str:
    """sendTransaction over a raw connection; returns the hash (ClickException unless PENDING)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sendTransaction",
                       "params": {"transaction": envelope_b64}})
    connection.request("POST", "/rpc", body, {"Content-Type": "application/json"})
    result = json.loads(connection.getresponse().read())["result"]
    if result["status"] != "PENDING":
        raise click.ClickException(f"sendTransaction {result['status']}: {result.get('errorResultXdr')}")
    return result["hash"]


def _batched_setup(node: LocalDevnet, passphrase: str, signer: Keypair, add_ops) -> None:
    """Submit one signer's operations in transactions of 100, chained, and close a ledger."""
    account = node.server().load_account(signer.public_key)
    connection = _connect(node)
    for builder_ops in add_ops:
        builder = TransactionBuilder(account, passphrase, base_fee=100)
        builder_ops(builder)
        envelope = builder.add_time_bounds(0, 0).build()
        envelope.sign(signer)
        _send(connection, envelope.to_xdr())


def _setup_farmers(node: LocalDevnet, passphrase: str, count: int, kale: int) -> list[Keypair]:
    farmers = [Keypair.random() for _ in range(count)]
    chunks = [farmers[i:i + OPS_PER_SETUP_TX] for i in range(0, count, OPS_PER_SETUP_TX)]
    _batched_setup(node, passphrase, genesis.root(passphrase), [
        lambda b, chunk=chunk: [b.append_create_account_op(f.public_key, "1000") for f in chunk] for chunk in chunks])
    node.close_ledgers(1, CALL_TIMEOUT)
    asset = genesis.kale_asset()
    with ThreadPoolExecutor(8) as pool:
        def trust(farmer: Keypair) -> None:
            envelope = (TransactionBuilder(Account(farmer.public_key, node_seq(node, farmer)), passphrase, 100)
                        .append_change_trust_op(asset).add_time_bounds(0, 0).build())
            envelope.sign(farmer)
            _send(_connect(node), envelope.to_xdr())
        list(pool.map(trust, farmers))
    node.close_ledgers(1, CALL_TIMEOUT)
    amount = format_stroops(kale)
    _batched_setup(node, passphrase, genesis.kale_issuer(), [
        lambda b, chunk=chunk: [b.append_payment_op(f.public_key, asset, amount) for f in chunk] for chunk in chunks])
    node.close_ledgers(1, CALL_TIMEOUT)
    return farmers


def node_seq(node: LocalDevnet, farmer: Keypair) -> int:
    return node.server().load_account(farmer.public_key).sequence


def _prepare(node: LocalDevnet, source: Account, operation, signer: Keypair, passphrase: str,
             latencies: list[float]) -> str:
    """Simulate (timed) and assemble one transaction; returns the signed envelope."""
    envelope = TransactionBuilder(source, passphrase, base_fee=100).append_operation(operation) \
        .add_time_bounds(0, 0).build()
    started = time.perf_counter()
    simulated = node.server().simulate_transaction(envelope)
    latencies.append(time.perf_counter() - started)
    if simulated.error:
        raise click.ClickException(f"simulation failed: {simulated.error}")
    envelope.transaction.soroban_data = xdr.SorobanTransactionData.from_xdr(simulated.transaction_data)
    envelope.transaction.fee += int(simulated.min_resource_fee)
    envelope.transaction.operations[0].auth = [
        xdr.SorobanAuthorizationEntry.from_xdr(entry) for entry in simulated.results[0].auth or []]
    envelope.sign(signer)
    return envelope.to_xdr()


def _applied_rate(node: LocalDevnet, envelopes: list[str], threads: int, close_every: float) -> tuple[float, float]:
    """Send everything (in order per thread), closing ledgers meanwhile; (seconds, applied per second)."""
    stop = threading.Event()

    def closer() -> None:
        while not stop.wait(close_every):
            node.close_ledgers(1, CALL_TIMEOUT)

    closing = threading.Thread(target=closer, daemon=True)
    def send(chunk: list[str]) -> list[str]:
        connection = _connect(node)
        return [_send(connection, e) for e in chunk]

    chunks = [envelopes[i::threads] for i in range(threads)]
    started = time.perf_counter()
    closing.start()
    with ThreadPoolExecutor(threads) as pool:
        hashes = [h for chunk in pool.map(send, chunks) for h in chunk]
    stop.set()
    closing.join()
    node.close_ledgers(1, CALL_TIMEOUT)
    elapsed = time.perf_counter() - started
    last = node.server().get_transaction(hashes[-1])
    failed = sum(1 for h in hashes[:: max(1, len(hashes) // 50)]
                 if node.server().get_transaction(h).status.value != "SUCCESS")
    if last.status.value != "SUCCESS" or failed:
        raise click.ClickException(f"{failed} sampled transactions did not succeed")
    return elapsed, len(envelopes) / elapsed


@click.command()
@click.option("--farmers", default=1000, show_default=True, type=click.IntRange(1, 20000),
              help="Farmers to plant and work.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Client threads sending plants.")
@click.option("--close-every", default=1.0, show_default=True, type=click.FloatRange(0.05),
              help="Wall seconds between ledger closes while sending.")
def bench_devnet(farmers: int, threads: int, close_every: float) -> None:
    """Devnet transaction throughput (plants and works applied per second) and simulate latency."""
    state = Path(tempfile.mkdtemp(prefix="kalepool-bench-devnet-"))
    node = LocalDevnet(state / "chain", close_interval=0, log_path=state / "devnet.log")
    try:
        node.start()
        passphrase, farm = node.passphrase, node.info["farm_contract"]
        click.echo(f"setting up {farmers} farmers...", err=True)
        keys = _setup_farmers(node, passphrase, farmers, 100 * 10_000_000)
        latencies: list[float] = []
        plants = [_prepare(node, Account(k.public_key, node_seq(node, k)), calls.plant(farm, k.public_key, 10**7),
                           k, passphrase, latencies) for k in keys]
        plant_seconds, plant_rate = _applied_rate(node, plants, threads, close_every)
        node.close_ledgers(1, CALL_TIMEOUT)

        pooler = keys[0]
        index = storage.farm_state_from_instance(
            _entry(node, storage.instance_ledger_key(farm))).index
        entropy = storage.block_from_scval(_entry(node, storage.block_ledger_key(farm, index)).contract_data.val).entropy
        account = Account(pooler.public_key, node_seq(node, pooler))
        works = []
        for k in keys:
            operation = calls.work(farm, k.public_key, kale_hash(index, 0, entropy, k.public_key), 0)
            works.append(_prepare(node, account, operation, pooler, passphrase, latencies))  # build() bumps seq
        work_seconds, work_rate = _applied_rate(node, works, 1, close_every)
        ms = sorted(latency * 1000 for latency in latencies)
        click.echo(f"plants: {farmers} applied in {plant_seconds:.2f} s = {plant_rate:.0f} invocations/s "
                   f"({threads} client threads, one source each)")
        click.echo(f"works:  {farmers} applied in {work_seconds:.2f} s = {work_rate:.0f} invocations/s "
                   f"(one pooler source, chained sequence numbers)")
        click.echo(f"sustained: {2 * farmers / (plant_seconds + work_seconds):.0f} KALE invocations/s "
                   f"sent + applied (ledger close every {close_every} s)")
        click.echo(f"simulateTransaction: p50 {statistics.median(ms):.1f} ms, "
                   f"p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.1f} ms over {len(ms)} calls")
    except DevnetError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        node.stop()
        shutil.rmtree(state, ignore_errors=True)


def _entry(node: LocalDevnet, key):
    return xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([key]).entries[0].xdr)
