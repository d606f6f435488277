"""`manage.py bench plant`: how long from a plant request until N farmers are planted.

Everything is real: a devnet child process (default 5 s ledgers), a private PostgreSQL,
custodial wallets created and funded, KALE trustlines through the outbox, KALE minted by
the devnet faucet; then one `plant_for(pooler)` as the API runs it, timed by ledger and by
second, with the time split into simulate, sign, submit and confirm.
"""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
from stellar_sdk import Keypair
from peewee import fn

from devnet.controller import LocalDevnet
from config import load_settings
from db.cluster import PrivateCluster
from db.connection import init_database
from db.migrate import migrate
from db.models import Farmer, Planting, Pooler
from jobs.activation import activate_many
from jobs.pool import Pool, build_pool

STAKE_KALE = 100 * 10_000_000
SETUP_THREADS = 128


@click.command("plant")
@click.option("--farmers", "count", type=click.IntRange(1, 10_000), default=1000, show_default=True,
              help="How many farmers the pooler plants.")
@click.option("--ledger-seconds", type=click.FloatRange(0.05, 60), default=5.0, show_default=True,
              help="Wall seconds between devnet ledgers (the public networks: ~5).")
@click.option("--workers", type=click.IntRange(1, 64), default=16, show_default=True,
              help="Parallel submissions.")
def bench_plant(count: int, ledger_seconds: float, workers: int) -> None:
    """Plant N farmers after one plant request and report ledgers, seconds and phases."""
    with tempfile.TemporaryDirectory(prefix="kalepool-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        cluster = PrivateCluster(str(root / "pg"), fast=True).start()
        devnet = LocalDevnet(root / "devnet", close_interval=ledger_seconds).start()
        try:
            _run(count, workers, root, cluster.url, devnet)
        finally:
            devnet.stop()
            cluster.stop()


def _run(count: int, workers: int, root: Path, database_url: str, devnet: LocalDevnet) -> None:
    settings = load_settings(state_dir=str(root / "state"), database_url=database_url,
                             rpc_url=devnet.rpc_url)
    migrate(database_url)
    init_database(database_url, pool_size=workers + 4)
    pool = build_pool(settings)
    pool.planter.workers = workers
    click.echo(f"setting up {count} farmers (wallets, XLM, trustlines, KALE)...", err=True)
    started = time.monotonic()
    pooler = Pooler.create(name="bench", payout_address=Keypair.random().public_key,
                           api_key_hash="bench", capacity=count, share_bps=5000)
    provision_farmers(pool, pooler, count, devnet, workers)
    click.echo(f"set up in {time.monotonic() - started:.1f}s; planting...", err=True)

    pool.outbox.stopwatch.reset()
    first_ledger = pool.client.latest_ledger().sequence
    started = time.monotonic()
    answer = pool.planter.plant_for(pooler)
    seconds = time.monotonic() - started
    last_ledger = Planting.select(fn.MAX(Planting.ledger)).scalar() or first_ledger
    phases = pool.outbox.stopwatch.seconds
    click.echo(f"farmers:          {count}")
    click.echo(f"planted:          {len(answer['planted'])}  failed: {len(answer['failed'])}")
    click.echo(f"ledgers:          {last_ledger - first_ledger} (request at ledger {first_ledger}, "
               f"last plant in ledger {last_ledger})")
    click.echo(f"seconds:          {seconds:.2f}")
    for phase in ("simulate", "sign", "submit", "confirm"):
        click.echo(f"  {phase:<9} {phases.get(phase, 0.0):8.2f} s summed over threads"
                   f" ({pool.outbox.stopwatch.counts.get(phase, 0)} calls)")
    if answer["failed"]:
        click.echo(f"first failure: {answer['failed'][0]['reason']}")


def provision_farmers(pool: Pool, pooler: Pooler, count: int, devnet: LocalDevnet, workers: int = 16,
                      kale: int = STAKE_KALE) -> list[Farmer]:
    """`count` active farmers of `pooler`, each with XLM, a KALE trustline and `kale` stroops of KALE.

    Quicker than the API for hundreds of farmers: wallets straight from custody, trustlines
    sent in parallel through the outbox and confirmed together.
    """
    farmers = [_new_farmer(pool, pooler) for _ in range(count)]
    with ThreadPoolExecutor(SETUP_THREADS) as waiting:  # each faucet call waits for its ledger
        list(waiting.map(lambda f: devnet.fund(f.custodial_address), farmers))
    with ThreadPoolExecutor(workers) as executor:
        activate_many(pool, farmers, executor)
    with ThreadPoolExecutor(SETUP_THREADS) as waiting:
        list(waiting.map(lambda f: devnet.mint(f.custodial_address, kale), farmers))
    return [Farmer.get_by_id(f.id) for f in farmers]


def _new_farmer(pool: Pool, pooler: Pooler) -> Farmer:
    farmer_id = Farmer.next_id()
    wallet = pool.custody.create_wallet(farmer_id)
    return Farmer.create(id=farmer_id, custodial_address=wallet.public_key, **wallet.sealed.fields(),
                         payout_address=wallet.public_key, pooler=pooler, stake_bps=5000,
                         harvest_interval_blocks=1, api_token_hash=f"provisioned-{farmer_id}")
