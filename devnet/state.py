"""The devnet's ledger entries in memory, with TTLs and eviction, persisted to SQLite at each close.

`State` holds every live entry keyed by its LedgerKey XDR bytes. `View` layers a
transaction's (or an operation's) writes over a parent so they can be committed
or dropped as a whole. Both answer `get` as the ledger being built sees it: a
temporary entry past its `live_until` is gone.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict

from devnet.entries import EXT_V0, Entry

_CONTRACT_DATA = b"\x00\x00\x00\x06"
_TEMPORARY = b"\x00\x00\x00\x00"


def is_temporary_key(key: bytes) -> bool:
    """Whether a LedgerKey (XDR bytes) is a temporary contract-data key (durability is its last field)."""
    return key[:4] == _CONTRACT_DATA and key[-4:] == _TEMPORARY


def is_archived(key: bytes, entry: Entry, seq: int) -> bool:
    """A persistent entry whose TTL ran out: it must be restored before use."""
    return entry.live_until is not None and entry.live_until < seq and not is_temporary_key(key)


class State:
    """All ledger entries; `seq` is the ledger being built (latest closed + 1)."""

    def __init__(self) -> None:
        self.entries: dict[bytes, Entry] = {}
        self.seq = 1
        self._dirty: set[bytes] = set()
        self._expiry: dict[int, set[bytes]] = defaultdict(set)
        self.fail_next: dict[str, int] = {}  # devnet_failNext (test-only, not persisted): source -> txs left to fail

    def get(self, key: bytes) -> Entry | None:
        entry = self.entries.get(key)
        if (entry is not None and entry.live_until is not None and entry.live_until < self.seq
                and is_temporary_key(key)):
            return None
        return entry

    def put(self, key: bytes, entry: Entry) -> None:
        self.entries[key] = entry
        self._dirty.add(key)
        if entry.live_until is not None and is_temporary_key(key):
            self._expiry[entry.live_until].add(key)

    def delete(self, key: bytes) -> None:
        if self.entries.pop(key, None) is not None:
            self._dirty.add(key)

    def evict(self, last_closed: int) -> list[bytes]:
        """Remove temporary entries that expired at or before `last_closed`; returns their keys."""
        evicted = []
        for live_until in [lu for lu in self._expiry if lu <= last_closed]:
            for key in self._expiry.pop(live_until):
                entry = self.entries.get(key)
                if entry is not None and entry.live_until == live_until:
                    self.delete(key)
                    evicted.append(key)
        return evicted

    @staticmethod
    def create_tables(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, data BLOB NOT NULL, "
                   "last_modified INTEGER NOT NULL, live_until INTEGER, ext BLOB)")
        if "ext" not in {row[1] for row in db.execute("PRAGMA table_info(entries)")}:
            db.execute("ALTER TABLE entries ADD COLUMN ext BLOB")  # a state dir from before sponsorships

    def load(self, db: sqlite3.Connection) -> None:
        for key, data, last_modified, live_until, ext in db.execute(
                "SELECT key, data, last_modified, live_until, ext FROM entries"):
            self.put(bytes(key), Entry(None, last_modified, live_until, bytes(data), bytes(ext) if ext else EXT_V0))
        self._dirty.clear()

    def save(self, db: sqlite3.Connection) -> None:
        """Write the entries changed since the last save (inside the caller's SQL transaction)."""
        upserts, deletes = [], []
        for key in self._dirty:
            entry = self.entries.get(key)
            if entry is None:
                deletes.append((key,))
            else:
                upserts.append((key, entry.data_bytes, entry.last_modified, entry.live_until,
                                None if entry.ext == EXT_V0 else entry.ext))
        db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", upserts)
        db.executemany("DELETE FROM entries WHERE key = ?", deletes)
        self._dirty.clear()


class View:
    """Writes over a parent (State or View), read-through; `commit` pushes them down."""

    def __init__(self, parent: State | View):
        self.parent = parent
        self.writes: dict[bytes, Entry | None] = {}

    @property
    def seq(self) -> int:
        return self.parent.seq

    def get(self, key: bytes) -> Entry | None:
        if key in self.writes:
            return self.writes[key]
        return self.parent.get(key)

    def put(self, key: bytes, entry: Entry) -> None:
        self.writes[key] = entry

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def before(self, key: bytes) -> Entry | None:
        """The entry as it was before this view's writes."""
        return self.parent.get(key)

    def commit(self) -> None:
        for key, entry in self.writes.items():
            if entry is None:
                self.parent.delete(key)
            else:
                self.parent.put(key, entry)
        self.writes = {}
