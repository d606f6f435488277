"""The ingestion loop: read whole ledgers from the RPC, store them with the cursor in one
database transaction, never skip one.

A batch is a run of consecutive ledgers read completely (markers, every transaction,
every KALE event); its rows and the cursor's move to its last ledger commit together, and
the cursor moves only from exactly the ledger before the batch. Rows are keyed by
on-chain identity and inserted with ON CONFLICT DO NOTHING, so a batch stored twice (a
crash between commit and the next read, two indexers racing) changes nothing.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from peewee import Model
from playhouse.postgres_ext import BinaryJSONField
from psycopg2 import sql
from psycopg2.extras import Json, execute_values

from config import Network
from db.chain_models import ChainKaleMovement, ChainLedger, ChainTransaction, IndexerCursor
from db.connection import database
from db.models import Farmer, Pooler, TxIntent
from indexer.custody_ledger import post_range
from indexer.decode import Scope, apply_movements, decode_event, decode_transaction
from indexer.source import Marker, RpcError, RpcSource

log = logging.getLogger(__name__)

INSERT_CHUNK = 1000


class IndexerError(RuntimeError):
    """The indexer cannot go on safely; the message says why and what to do."""


class CursorMoved(IndexerError):
    """Someone else moved this scope's cursor since it was read."""


def known_addresses() -> frozenset[str]:
    """Addresses the pool knows: farmers' custodial and payout addresses, poolers' payout
    addresses, and every account the pool sends transactions from."""
    farmers = Farmer.select(Farmer.custodial_address, Farmer.payout_address).tuples()
    poolers = Pooler.select(Pooler.payout_address).tuples()
    sources = TxIntent.select(TxIntent.source).distinct().tuples()
    return frozenset(a for row in [*farmers, *poolers, *sources] for a in row)


def open_cursor(scope: str, start_ledger: int) -> IndexerCursor:
    """The scope's cursor, created at `start_ledger` (nothing stored yet) if it has none."""
    (IndexerCursor.insert(scope=scope, start_ledger=start_ledger, ledger=start_ledger - 1)
     .on_conflict_ignore().execute())
    return IndexerCursor.get_by_id(scope)


@dataclass
class Batch:
    """Consecutive ledgers read completely, decoded into rows."""

    first: int
    last: int
    ledgers: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    movements: list[dict[str, Any]]
    seen: int = 0  # transactions in these ledgers, stored or not


def _insert(model: type[Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) that are not there yet, many per statement."""
    if not rows:
        return
    columns = list(rows[0])
    json_columns = {name for name, f in model._meta.fields.items() if isinstance(f, BinaryJSONField)}
    values = [tuple(Json(row[c]) if c in json_columns and row[c] is not None else row[c] for c in columns)
              for row in rows]
    statement = sql.SQL("INSERT INTO {} ({}) VALUES %s ON CONFLICT DO NOTHING").format(
        sql.Identifier(model._meta.table_name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    execute_values(database.cursor(), statement, values, page_size=INSERT_CHUNK)


@dataclass
class Indexer:
    """Ingests one scope (`pool` or `all`) from one RPC into the database."""

    source: RpcSource
    network: Network
    scope: str = "pool"
    max_ledgers: int = 200
    poll_interval: float = 0.2
    after_store: Callable[[Batch], None] | None = None
    stats: Counter = field(default_factory=Counter)

    def read(self, start: int, last: int | None = None) -> Batch | None:
        """Ledgers `start`.. as far as the RPC has them (at most `max_ledgers`, none past `last`),
        or None at the tip."""
        markers = [m for m in self.source.ledgers(start, self.max_ledgers) if last is None or m.sequence <= last]
        if not markers:
            return None
        if [m.sequence for m in markers] != list(range(start, start + len(markers))):
            raise IndexerError(f"getLedgers from {start} returned ledgers "
                               f"{[m.sequence for m in markers][:5]}...: not consecutive from {start}")
        transactions, covered = self.source.transactions(start, markers[-1].sequence)
        markers = [m for m in markers if m.sequence <= covered]
        if not markers:
            return None
        last = markers[-1].sequence
        events = self.source.events(start, last, self.network.kale_sac)
        return self.decode(markers, [t for t in transactions if t.ledger <= last], events)

    def decode(self, markers: list[Marker], transactions: Iterable, events: Iterable) -> Batch:
        """Rows for the given ledgers, their transactions and the KALE asset contract's events."""
        scope = Scope(self.network, self.scope == "all", known_addresses())
        rows, movements, counts = [], {}, Counter()
        for raw in transactions:
            counts[raw.ledger] += 1
            decoded = decode_transaction(raw, scope)
            if decoded is None:
                continue
            row, payments = decoded
            rows.append(row)
            movements.update((m["id"], m) for m in payments)
        for raw in events:
            movement = decode_event(raw)
            if movement is not None:
                movements[movement["id"]] = movement
        ordered = [movements[k] for k in sorted(movements)]
        apply_movements(rows, ordered)
        ledgers = [{"sequence": m.sequence, "hash": m.hash, "previous_hash": m.previous_hash,
                    "close_time": m.close_time, "transaction_count": counts[m.sequence]} for m in markers]
        return Batch(markers[0].sequence, markers[-1].sequence, ledgers, rows, ordered, sum(counts.values()))

    def store(self, batch: Batch, move_cursor: bool = True) -> None:
        """Commit the batch's rows, their custody ledger entries and the cursor's move from
        `first - 1` to `last`, together."""
        with database.atomic():
            _insert(ChainLedger, batch.ledgers)
            _insert(ChainTransaction, batch.transactions)
            _insert(ChainKaleMovement, batch.movements)
            post_range(self.network, batch.first, batch.last)
            moved = (IndexerCursor.update(ledger=batch.last)
                     .where(IndexerCursor.scope == self.scope, IndexerCursor.ledger == batch.first - 1)
                     .execute()) if move_cursor else 1
            if moved != 1:
                raise CursorMoved(f"the {self.scope} cursor is no longer at {batch.first - 1}")
        self.stats["ledgers"] += len(batch.ledgers)
        self.stats["transactions"] += batch.seen
        self.stats["stored"] += len(batch.transactions)
        self.stats["movements"] += len(batch.movements)

    def step(self) -> int:
        """Read and store the next batch; the number of ledgers stored (0 at the tip)."""
        cursor = IndexerCursor.get_by_id(self.scope)
        batch = self.read(cursor.ledger + 1)
        if batch is None:
            return 0
        try:
            self.store(batch)
        except CursorMoved as exc:
            log.warning("%s; another indexer is running this scope, re-reading", exc)
            return 0
        if self.after_store is not None:
            self.after_store(batch)
        return len(batch.ledgers)

    def backfill(self, first: int) -> None:
        """Index ledgers `first`..start-1 before the scope's start, then move its start back to
        `first` (a crash before that leaves only rows a rerun stores again identically)."""
        cursor = IndexerCursor.get_by_id(self.scope)
        if first > cursor.ledger + 1:
            raise IndexerError(f"starting the {self.scope} record at ledger {first} would skip ledgers "
                               f"{cursor.ledger + 1}..{first - 1}")
        start = first
        while start < cursor.start_ledger:
            batch = self.read(start, cursor.start_ledger - 1)
            if batch is None:
                raise IndexerError(f"the RPC has no ledger {start}")
            self.store(batch, move_cursor=False)
            start = batch.last + 1
        (IndexerCursor.update(start_ledger=first)
         .where(IndexerCursor.scope == self.scope, IndexerCursor.start_ledger > first).execute())

    def run(self, until: int | None = None, stop: threading.Event | None = None,
            catch_up_only: bool = False) -> None:
        """Ingest until `until` is stored, `stop` is set, or (catch_up_only) the tip is reached.

        An unreachable RPC is retried; a cursor outside the RPC's retention window raises
        RetentionExceeded (nothing is skipped).
        """
        stop = stop or threading.Event()
        backoff = self.poll_interval
        while not stop.is_set():
            cursor = IndexerCursor.get_by_id(self.scope).ledger
            if until is not None and cursor >= until:
                return
            try:
                stored = self.step()
                backoff = self.poll_interval
            except RpcError as exc:
                log.warning("RPC error, retrying in %.1fs: %s", backoff, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if stored == 0:
                if catch_up_only:
                    return
                stop.wait(self.poll_interval)


def ledger_problems(scope: str) -> list[str]:
    """Missing ledger markers and broken hash links between the scope's start and its cursor.

    Gaps cannot happen by construction (the cursor moves with the rows); this checks anyway.
    """
    cursor = IndexerCursor.get_or_none(IndexerCursor.scope == scope)
    if cursor is None or cursor.ledger < cursor.start_ledger:
        return []
    bounds = {"start": cursor.start_ledger, "end": cursor.ledger}
    missing = [row[0] for row in database.execute_sql(
        "SELECT s FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS s "
        "WHERE NOT EXISTS (SELECT 1 FROM chain_ledgers WHERE sequence = s) ORDER BY s LIMIT 100", bounds)]
    broken = [row[0] for row in database.execute_sql(
        "SELECT l.sequence FROM chain_ledgers l JOIN chain_ledgers p ON p.sequence = l.sequence - 1 "
        "WHERE l.sequence BETWEEN %(start)s + 1 AND %(end)s AND l.previous_hash IS NOT NULL "
        "AND l.previous_hash <> p.hash ORDER BY l.sequence LIMIT 100", bounds)]
    problems = [f"ledger {s} is missing" for s in missing]
    problems += [f"ledger {s} does not follow the stored ledger {s - 1} (previous hash differs)" for s in broken]
    return problems

