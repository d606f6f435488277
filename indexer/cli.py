"""`manage.py indexer` (keep the chain record in PostgreSQL) and `manage.py audit` (reconcile
pool records with it and print chain-derived statements; non-zero exit on discrepancies)."""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

import click
from peewee import fn

from chain.amounts import format_stroops
from chain.rpc import ChainClient, RpcUnavailable
from config import Network, Settings, load_settings
from config.logs import configure_logging
from config.up_state import running_rpc_url
from db.chain_models import SCOPES, Discrepancy, IndexerCursor
from db.cli import open_database
from db.models import Farmer
from indexer.custody_ledger import post_all, post_if_empty
from indexer.ingest import Batch, Indexer, IndexerError, open_cursor
from indexer.reconcile import check_balances, check_ledgers, open_block, reconcile
from indexer.source import RetentionExceeded, RpcError, RpcSource
from db.chain_statement import chain_statement
from db.custody_ledger import summary as custody_summary

log = logging.getLogger(__name__)

EXIT_RETENTION = 3
EXIT_PARTIAL = 3  # audit: a check could not run
BALANCE_CHECK_SECONDS = 24 * 3600
RECONCILE_SECONDS = 30.0


def _settings() -> Settings:
    """The settings, with the devnet of a `manage.py up` running on the state directory when
    KALEPOOL_RPC_URL does not name an RPC (the devnet profile's default is not where `up` listens)."""
    settings = load_settings()
    if settings.network_name != "devnet" or os.environ.get("KALEPOOL_RPC_URL"):
        return settings
    return load_settings(rpc_url=running_rpc_url(settings.state_dir))


class Watch:
    """What the indexer checks as the chain record grows: reconciliation and every wallet's
    custody ledger against its balances when a block closes (and at least every
    `reconcile_every` seconds), the ledger markers once a day (and at start)."""

    def __init__(self, network: Network, scope: str, reconcile_every: float = RECONCILE_SECONDS,
                 checks_every: float = BALANCE_CHECK_SECONDS):
        self.network = network
        self.scope = scope
        self.client = ChainClient(network)
        self.reconcile_every = reconcile_every
        self.checks_every = checks_every
        self.block: int | None = None
        self.next_reconcile = 0.0
        self.next_checks = 0.0

    def __call__(self, batch: Batch) -> None:
        try:
            block = open_block()
            if block != self.block or time.monotonic() >= self.next_reconcile:
                self.block = block
                self.next_reconcile = time.monotonic() + self.reconcile_every
                reconcile(self.network, client=self.client, scope=self.scope)
                check_balances(self.client, self.scope)
            if time.monotonic() >= self.next_checks:
                self.next_checks = time.monotonic() + self.checks_every
                check_ledgers(self.scope)
        except Exception:  # a check that cannot run now runs later; ingestion goes on
            log.exception("reconciliation checks failed; retrying at the next batch")
            self.block, self.next_checks = None, 0.0


@click.command()
@click.option("--scope", type=click.Choice(SCOPES), default="pool", show_default=True,
              help="pool: what concerns the pool's addresses; all: every farm-contract call too.")
@click.option("--start-ledger", type=click.IntRange(1),
              help="First ledger of the record (default when starting: the oldest the RPC keeps). "
                   "Earlier than the record's start: backfill from there.")
@click.option("--until-ledger", type=click.IntRange(1), help="Stop once this ledger is stored.")
@click.option("--once", is_flag=True, help="Catch up with the tip, then exit.")
@click.option("--batch-ledgers", type=click.IntRange(1, 200), default=200, show_default=True,
              help="Most ledgers read and committed together.")
@click.option("--poll-interval", type=click.FloatRange(0.01, 60), default=0.2, show_default=True,
              help="Seconds between polls at the tip.")
def indexer(scope: str, start_ledger: int | None, until_ledger: int | None, once: bool, batch_ledgers: int,
            poll_interval: float) -> None:
    """Index the chain into PostgreSQL: ledger markers, transactions, KALE movements.

    Resumes from its cursor after any crash; never skips a ledger: when the cursor is older
    than the RPC keeps, it stops (exit 3) and says what to do. With --scope pool it also
    reconciles pool records each closed block and checks balances daily.
    """
    settings = _settings()
    configure_logging(settings.log_level)
    open_database(settings, pool_size=4)
    network = settings.network
    source = RpcSource(network.rpc_url)
    runner = Indexer(source, network, scope, batch_ledgers, poll_interval,
                     after_store=Watch(network, scope) if scope == "pool" else None)
    try:
        cursor = IndexerCursor.get_or_none(IndexerCursor.scope == scope)
        if cursor is None:
            cursor = open_cursor(scope, start_ledger or source.retained()[0])
            click.echo(f"indexer: new {scope} record from ledger {cursor.start_ledger}", err=True)
        elif start_ledger is not None and start_ledger < cursor.start_ledger:
            click.echo(f"indexer: backfilling {scope} from ledger {start_ledger} to {cursor.start_ledger - 1}",
                       err=True)
            runner.backfill(start_ledger)
        post_if_empty(network)  # chain rows stored before the custody ledger existed
        click.echo(f"indexer: {scope} record at ledger {IndexerCursor.get_by_id(scope).ledger}, "
                   f"RPC {network.rpc_url}", err=True)
        runner.run(until=until_ledger, catch_up_only=once)
    except RetentionExceeded as exc:
        log.critical("%s", exc)
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_RETENTION)
    except (IndexerError, RpcError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass
    click.echo(f"indexer: {scope} record at ledger {IndexerCursor.get_by_id(scope).ledger}", err=True)


def _discrepancy(row: Discrepancy) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "farmer_id": row.farmer_id, "block_index": row.block_index,
            "pool_side": row.pool_side, "chain_side": row.chain_side,
            "detected_at": row.detected_at.isoformat(), "resolved_at": None}


def _print_statement(item: dict[str, Any]) -> None:
    click.echo(f"farmer {item['farmer_id']} ({item['custodial_address']}): planted {format_stroops(item['planted'])} KALE "
               f"in {item['blocks_planted']} blocks ({item['blocks_worked']} worked), harvested "
               f"{format_stroops(item['harvested'])}, compensations {format_stroops(item['compensations'])}, "
               f"KALE in {format_stroops(item['kale_received'])} out {format_stroops(item['kale_sent'])} net {format_stroops(item['kale_net'])}")
    for asset, ledger in item["custody_ledger"].items():
        classes = ", ".join(f"{name} {format_stroops(total)}" for name, total in ledger["classes"].items())
        click.echo(f"  custody ledger {asset}: balance {format_stroops(ledger['balance'])} ({classes or 'no entries'})")
    for payment in item["settlement"]:
        amount = "" if payment["amount"] is None else format_stroops(payment["amount"]) + " "
        click.echo(f"  settlement: {payment['type']} {amount}{payment['asset']} to {payment['recipient']} "
                   f"{payment['destination']} (tx {payment['tx_hash']}, ledger {payment['ledger']})")


@click.command()
@click.option("--farmer", "farmer_id", type=click.IntRange(1), help="Only this farmer.")
@click.option("--from-ledger", type=click.IntRange(1), help="Statements from this ledger on.")
@click.option("--to-ledger", type=click.IntRange(1), help="Statements up to this ledger.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
@click.option("--resolve", "resolve_id", type=click.IntRange(1), metavar="ID",
              help="Mark discrepancy ID resolved (with --note saying how), instead of auditing.")
@click.option("--note", help="How the discrepancy was resolved (with --resolve).")
def audit(farmer_id: int | None, from_ledger: int | None, to_ledger: int | None, as_json: bool,
          resolve_id: int | None, note: str | None) -> None:
    """Reconcile pool records and every wallet's custody ledger with the chain; print
    discrepancies and per-farmer statements recomputed from chain rows alone. Exit status 1
    when discrepancies are open, 3 when a check could not run (the RPC was unreachable)."""
    if from_ledger and to_ledger and from_ledger > to_ledger:
        raise click.BadParameter("must not be after --to-ledger", param_hint="--from-ledger")
    if (resolve_id is not None) != bool(note and note.strip()):
        raise click.BadParameter("--resolve ID and --note TEXT go together", param_hint="--resolve")
    settings = _settings()
    open_database(settings)
    if resolve_id is not None:
        resolved = (Discrepancy.update(resolved_at=fn.now(), resolution=note.strip())
                    .where(Discrepancy.id == resolve_id, Discrepancy.resolved_at.is_null()).execute())
        if not resolved:
            raise click.BadParameter(f"no open discrepancy with id {resolve_id}", param_hint="--resolve")
        click.echo(f"discrepancy {resolve_id} resolved: {note.strip()}")
        return
    if farmer_id is not None and Farmer.get_or_none(Farmer.id == farmer_id) is None:
        raise click.BadParameter(f"no farmer with id {farmer_id}", param_hint="--farmer")
    cursor = IndexerCursor.get_or_none(IndexerCursor.scope == "pool")
    if cursor is None:
        raise click.ClickException("no chain record yet: run `manage.py indexer` first")
    missing = post_all(settings.network)
    if missing:
        click.echo(f"warning: the custody ledger lacked {missing} entries derived from stored chain rows; "
                   f"posted them now", err=True)
    client, partial = ChainClient(settings.network), []
    try:
        reconcile(settings.network, farmer_id, client=client)
    except RpcUnavailable as exc:
        partial.append(f"expired pails not checked: {exc}")
        reconcile(settings.network, farmer_id)
    try:
        check_balances(client)
    except RpcUnavailable as exc:
        partial.append(f"wallet balances not checked: {exc}")
    check_ledgers("pool")
    query = Discrepancy.select().where(Discrepancy.resolved_at.is_null()).order_by(Discrepancy.id)
    if farmer_id is not None:
        query = query.where((Discrepancy.farmer_id == farmer_id) | Discrepancy.farmer_id.is_null())
    discrepancies = [_discrepancy(row) for row in query]
    farmers = Farmer.select().order_by(Farmer.id)
    if farmer_id is not None:
        farmers = farmers.where(Farmer.id == farmer_id)
    statements = [{**chain_statement(farmer, from_ledger, to_ledger),
                   "custody_ledger": custody_summary(farmer.custodial_address, to_ledger)} for farmer in farmers]
    if as_json:
        click.echo(json.dumps({"chain_record": {"start_ledger": cursor.start_ledger, "ledger": cursor.ledger},
                               "discrepancies": discrepancies, "statements": statements}, indent=2))
    else:
        click.echo(f"chain record: ledgers {cursor.start_ledger}..{cursor.ledger}")
        click.echo(f"discrepancies: {len(discrepancies)} open")
        for item in discrepancies:
            click.echo(f"  #{item['id']} {item['kind']} farmer {item['farmer_id']} block {item['block_index']}: "
                       f"pool {json.dumps(item['pool_side'])} | chain {json.dumps(item['chain_side'])}")
        for item in statements:
            _print_statement(item)
    for problem in partial:
        click.echo(f"error: partial audit: {problem}", err=True)
    if discrepancies:
        sys.exit(1)
    if partial:
        sys.exit(EXIT_PARTIAL)
