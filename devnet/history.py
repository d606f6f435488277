"""Closed ledgers, applied transactions and their events in SQLite, with TOID-ordered paging.

TOID = ledger << 32 | application order << 12 | operation (stellar-rpc's cursor
scheme). Events are keyed by (toid, index); fee events sit at (ledger, 0, 0).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass


def toid(ledger: int, tx: int = 0, op: int = 0) -> int:
    return ledger << 32 | tx << 12 | op


@dataclass(frozen=True)
class LedgerRow:
    seq: int
    hash: bytes
    close_time: int
    header: bytes  # LedgerHeader XDR

    def history_entry(self) -> bytes:
        """LedgerHeaderHistoryEntry XDR: hash, header, ext v0."""
        return self.hash + self.header + b"\x00\x00\x00\x00"


@dataclass
class TxRow:
    hash: str
    ledger: int
    order: int
    status: str
    fee_bump: bool
    envelope: bytes
    result: bytes
    meta: bytes
    diagnostic: list[str]
    tx_events: list[str]
    contract_events: list[list[str]]
    created_at: int


@dataclass
class EventRow:
    toid: int
    index: int
    ledger: int
    tx_hash: str
    contract: str
    kind: str
    topics: list[str]
    value: str

    @property
    def id(self) -> str:
        return f"{self.toid:019d}-{self.index:010d}"


class History:
    """The SQLite tables of ledgers, transactions and events."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.executescript("""
            CREATE TABLE IF NOT EXISTS ledgers (seq INTEGER PRIMARY KEY, hash BLOB NOT NULL,
                close_time INTEGER NOT NULL, header BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS txs (hash TEXT PRIMARY KEY, toid INTEGER NOT NULL UNIQUE,
                ledger INTEGER NOT NULL, status TEXT NOT NULL, fee_bump INTEGER NOT NULL,
                envelope BLOB NOT NULL, result BLOB NOT NULL, meta BLOB NOT NULL, events TEXT NOT NULL,
                created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS events (toid INTEGER NOT NULL, idx INTEGER NOT NULL,
                ledger INTEGER NOT NULL, tx_hash TEXT NOT NULL, contract TEXT NOT NULL, kind TEXT NOT NULL,
                topics TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (toid, idx)) WITHOUT ROWID;
        """)

    def add_ledger(self, row: LedgerRow) -> None:
        self.db.execute("INSERT INTO ledgers VALUES (?, ?, ?, ?)", (row.seq, row.hash, row.close_time, row.header))

    def add_transactions(self, rows: list[TxRow]) -> None:
        self.db.executemany("INSERT INTO txs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (r.hash, toid(r.ledger, r.order), r.ledger, r.status, int(r.fee_bump), r.envelope, r.result,
             r.meta, json.dumps([r.diagnostic, r.tx_events, r.contract_events]), r.created_at) for r in rows])

    def add_events(self, rows: list[EventRow]) -> None:
        self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (e.toid, e.index, e.ledger, e.tx_hash, e.contract, e.kind, json.dumps(e.topics), e.value)
            for e in rows])

    def prune(self, oldest: int) -> None:
        """Forget ledgers, transactions and events older than the retention window."""
        self.db.execute("DELETE FROM ledgers WHERE seq < ?", (oldest,))
        self.db.execute("DELETE FROM txs WHERE toid < ?", (toid(oldest),))
        self.db.execute("DELETE FROM events WHERE toid < ?", (toid(oldest),))

    def latest_ledger(self) -> LedgerRow | None:
        row = self.db.execute("SELECT seq, hash, close_time, header FROM ledgers ORDER BY seq DESC LIMIT 1").fetchone()
        return LedgerRow(row[0], bytes(row[1]), row[2], bytes(row[3])) if row else None

    def ledger(self, seq: int) -> LedgerRow | None:
        row = self.db.execute("SELECT seq, hash, close_time, header FROM ledgers WHERE seq = ?", (seq,)).fetchone()
        return LedgerRow(row[0], bytes(row[1]), row[2], bytes(row[3])) if row else None

    def ledgers(self, start: int, limit: int) -> list[LedgerRow]:
        return [LedgerRow(r[0], bytes(r[1]), r[2], bytes(r[3])) for r in self.db.execute(
            "SELECT seq, hash, close_time, header FROM ledgers WHERE seq >= ? ORDER BY seq LIMIT ?",
            (start, limit))]

    def close_time(self, seq: int) -> int | None:
        row = self.db.execute("SELECT close_time FROM ledgers WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def _tx(self, row) -> TxRow:
        diagnostic, tx_events, contract_events = json.loads(row[8])
        return TxRow(row[0], row[2], row[1] >> 12 & 0xFFFFF, row[3], bool(row[4]), bytes(row[5]),
                     bytes(row[6]), bytes(row[7]), diagnostic, tx_events, contract_events, row[9])

    def transaction(self, tx_hash: str) -> TxRow | None:
        row = self.db.execute("SELECT * FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        return self._tx(row) if row else None

    def ledger_transactions(self, seq: int) -> list[TxRow]:
        """Every transaction applied in ledger `seq`, in application order."""
        return self.transactions(toid(seq) - 1, 1 << 20, before_toid=toid(seq + 1))

    def transactions(self, after_toid: int, limit: int, before_toid: int = (1 << 63) - 1) -> list[TxRow]:
        return [self._tx(r) for r in self.db.execute(
            "SELECT * FROM txs WHERE toid > ? AND toid < ? ORDER BY toid LIMIT ?",
            (after_toid, before_toid, limit))]

    def events(self, after: tuple[int, int], before_toid: int, limit: int) -> list[EventRow]:
        """Events after the (toid, index) position and before `before_toid`, ascending."""
        return [EventRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7]) for r in self.db.execute(
            "SELECT toid, idx, ledger, tx_hash, contract, kind, topics, value FROM events "
            "WHERE (toid, idx) > (?, ?) AND toid < ? ORDER BY toid, idx LIMIT ?",
            (after[0], after[1], before_toid, limit))]
