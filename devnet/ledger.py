"""The devnet chain: transaction queue, ledger close, persistence, friendbot and the KALE faucet.

Submitted transactions are checked at once (PENDING or ERROR) and applied at the
next ledger close in arrival order. Several pending transactions from one source
are accepted when their sequence numbers chain (seq = previous pending + 1), so a
single account can submit many `work` calls within one ledger; they apply in
sequence order. One lock guards the state; each close is one SQLite transaction.
"""
from __future__ import annotations

import base64
import hashlib
import sqlite3
import threading
import time
from collections import defaultdict
from pathlib import Path

from stellar_sdk import Account, Keypair, Network, TransactionBuilder, xdr

from chain.amounts import format_stroops
from devnet import entries as E
from devnet import close_meta, genesis, meta, validation
from devnet.apply import Applied, apply_transaction
from devnet.events import KIND_NAMES, Event
from devnet.fees import BASE_FEE
from devnet.history import EventRow, History, LedgerRow, TxRow, toid
from devnet.host import LedgerInfo
from devnet.simulate import simulate
from devnet.state import State
from devnet.validation import Rejected, Tx

MAX_QUEUE = 50_000
FRIENDBOT_XLM = "10000"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Chain:
    """The ledger state, its history and the pending transactions of one devnet."""

    def __init__(self, state_dir: Path, *, ledger_seconds: int = 5, temp_ttl: int = 17280,
                 retention: int = 120960, auto_close: bool = True, protocol: int = 23,
                 wall_clock: bool = False):
        """`wall_clock`: genesis at start-up and each ledger closes at the wall time (at least one
        second after the last); else genesis at 2025-01-01 and `ledger_seconds` per ledger."""
        self.passphrase = genesis.PASSPHRASE
        self.network_id = Network(self.passphrase).network_id()
        self.ledger_seconds = ledger_seconds
        self.protocol = protocol
        self.wall_clock = wall_clock
        self.temp_ttl = temp_ttl
        self.retention = retention
        self.auto_close = auto_close
        self.lock = threading.RLock()
        self.closed = threading.Condition(self.lock)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(state_dir / "devnet.sqlite3", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        State.create_tables(self.db)
        self.history = History(self.db)
        self.state = State()
        self.latest = self.history.latest_ledger()
        if self.latest is None:
            self._genesis()
        else:
            self.state.load(self.db)
        self.fee_pool = close_meta.fee_pool(self.latest.header)
        self.state.seq = self.latest.seq + 1
        self.queue: list[Tx] = []
        self.queued: set[bytes] = set()
        self.pending_seq: dict[str, int] = {}
        self.pending_fees: dict[str, int] = defaultdict(int)
        self.dropped: dict[str, int] = {}

    # -- ledgers ------------------------------------------------------------------------------
    def _header(self, seq: int, close_time: int, previous: bytes, tx_hashes: list[bytes],
                results: list[bytes]) -> LedgerRow:
        tx_set_hash = hashlib.sha256(previous + b"".join(tx_hashes)).digest()
        header = xdr.LedgerHeader(
            ledger_version=xdr.Uint32(self.protocol), previous_ledger_hash=xdr.Hash(previous),
            scp_value=xdr.StellarValue(xdr.Hash(tx_set_hash), xdr.TimePoint(xdr.Uint64(close_time)), [],
                                       xdr.StellarValueExt(xdr.StellarValueType.STELLAR_VALUE_BASIC)),
            tx_set_result_hash=xdr.Hash(hashlib.sha256(b"".join(results)).digest()),
            bucket_list_hash=xdr.Hash(hashlib.sha256(tx_set_hash + seq.to_bytes(4, "big")).digest()),
            ledger_seq=xdr.Uint32(seq), total_coins=xdr.Int64(genesis.TOTAL_COINS),
            fee_pool=xdr.Int64(self.fee_pool), inflation_seq=xdr.Uint32(0), id_pool=xdr.Uint64(0),
            base_fee=xdr.Uint32(BASE_FEE), base_reserve=xdr.Uint32(E.BASE_RESERVE),
            max_tx_set_size=xdr.Uint32(MAX_QUEUE), skip_list=[xdr.Hash(bytes(32))] * 4,
            ext=xdr.LedgerHeaderExt(0))
        header_bytes = close_meta.header_bytes(self.protocol, header, self.network_id)
        return LedgerRow(seq, hashlib.sha256(header_bytes).digest(), close_time, header_bytes)

    def _genesis(self) -> None:
        self.state.seq = 1
        genesis_time = int(time.time()) if self.wall_clock else genesis.GENESIS_CLOSE_TIME
        for key, entry in genesis.genesis_entries(self.passphrase, genesis_time):
            self.state.put(key, entry)
        self.fee_pool = 0
        self.latest = self._header(1, genesis_time, bytes(32), [], [])
        self.db.execute("BEGIN")
        self.history.add_ledger(self.latest)
        self.state.save(self.db)
        self.db.execute("COMMIT")

    @property
    def oldest_seq(self) -> int:
        return max(1, self.latest.seq - self.retention + 1)

    def next_close_time(self) -> int:
        """The close time of the ledger being built: the wall clock (wall-clock mode), else a fixed step."""
        if self.wall_clock:
            return max(self.latest.close_time + 1, int(time.time()))
        return self.latest.close_time + self.ledger_seconds

    def next_ledger(self) -> LedgerInfo:
        """The ledger being built: what simulation and the next close see."""
        return LedgerInfo(seq=self.latest.seq + 1, timestamp=self.next_close_time(),
                          network_id=self.network_id, temp_ttl=self.temp_ttl,
                          persistent_ttl=genesis.MIN_PERSISTENT_TTL, max_ttl=genesis.MAX_ENTRY_TTL)

    def close_ledger(self) -> int:
        """Apply every queued transaction in a new ledger; returns its sequence number."""
        with self.lock:
            ledger = self.next_ledger()
            self.state.seq = ledger.seq
            queue, self.queue = self.queue, []
            self.queued.clear()
            self.pending_seq.clear()
            self.pending_fees.clear()
            applied: list[tuple[Tx, Applied]] = []
            for tx in queue:
                outcome = apply_transaction(self.state, tx, ledger, self.passphrase)
                if outcome is None:
                    self.dropped[tx.hash_hex] = ledger.seq
                else:
                    applied.append((tx, outcome))
                    self.fee_pool += outcome.fee_charged
            self.state.evict(ledger.seq)
            row = self._header(ledger.seq, ledger.timestamp, self.latest.hash,
                               [tx.hash for tx, _ in applied], [a.result for _, a in applied])
            self.db.execute("BEGIN")
            self.history.add_ledger(row)
            self._record(row, applied)
            self.state.save(self.db)
            if ledger.seq % 100 == 0:
                self.history.prune(max(1, ledger.seq - self.retention + 1))
            self.db.execute("COMMIT")
            self.latest = row
            self.state.seq = ledger.seq + 1
            if len(self.dropped) > 10_000:
                self.dropped = dict(list(self.dropped.items())[-5_000:])
            self.closed.notify_all()
            return ledger.seq

    def _record(self, row: LedgerRow, applied: list[tuple[Tx, Applied]]) -> None:
        txs, events = [], []
        fee_toid = toid(row.seq)
        fee_index = 0
        for order, (tx, outcome) in enumerate(applied, start=1):
            contract_events = [[_b64(e.to_xdr_bytes()) for e in events] for events in outcome.contract_events]
            txs.append(TxRow(tx.hash_hex, row.seq, order, "SUCCESS" if outcome.success else "FAILED",
                             tx.fee_bump is not None, tx.raw, outcome.result, outcome.meta,
                             [_b64(d.diagnostic_xdr(False)) for d in outcome.diagnostic],
                             [_b64(e.transaction_event_xdr()) for e in outcome.tx_events],
                             contract_events, row.close_time))
            for event in outcome.tx_events:
                events.append(self._event_row(fee_toid, fee_index, row.seq, tx.hash_hex, event))
                fee_index += 1
            for op_index, op_events in enumerate(outcome.contract_events):
                for index, event in enumerate(op_events):
                    events.append(self._event_row(toid(row.seq, order, op_index), index, row.seq,
                                                  tx.hash_hex, event))
        self.history.add_transactions(txs)
        self.history.add_events(events)

    @staticmethod
    def _event_row(event_toid: int, index: int, seq: int, tx_hash: str, event: Event) -> EventRow:
        return EventRow(event_toid, index, seq, tx_hash, event.contract, KIND_NAMES[event.kind],
                        [_b64(t) for t in event.topics], _b64(event.data))

    # -- transactions ---------------------------------------------------------------------------
    def submit(self, envelope_b64: str) -> dict:
        """sendTransaction: PENDING, DUPLICATE, TRY_AGAIN_LATER or ERROR (raises Malformed)."""
        tx = validation.decode(envelope_b64, self.network_id)
        try:
            validation.check_static(tx)
        except Rejected as rejected:
            with self.lock:
                return self._send_result(tx, "ERROR", rejected)
        with self.lock:
            if tx.hash in self.queued:
                return self._send_result(tx, "DUPLICATE")
            if len(self.queue) >= MAX_QUEUE:
                return self._send_result(tx, "TRY_AGAIN_LATER")
            ledger = self.next_ledger()
            source = self.state.get(E.account_key_bytes(tx.source))
            fee_source = self.state.get(E.account_key_bytes(tx.fee_source))
            expected = self.pending_seq.get(tx.source, E.account_seq(source.data) if source else 0) + 1
            try:
                validation.check_time(tx, ledger.timestamp, ledger.seq)
                validation.check_account(tx, source, fee_source, expected, self.pending_fees[tx.fee_source])
            except Rejected as rejected:
                return self._send_result(tx, "ERROR", rejected)
            self.queue.append(tx)
            self.queued.add(tx.hash)
            self.pending_seq[tx.source] = tx.seq
            self.pending_fees[tx.fee_source] += tx.charge
            return self._send_result(tx, "PENDING")

    def _send_result(self, tx: Tx, status: str, rejected: Rejected | None = None) -> dict:
        result = {"status": status, "hash": tx.hash_hex, "latestLedger": self.latest.seq,
                  "latestLedgerCloseTime": str(self.latest.close_time)}
        if rejected is not None:
            error = meta.tx_result(0, rejected.code)
            if rejected.inner and tx.fee_bump is not None:
                error = meta.fee_bump_result(0, tx.inner_hash, error)
            result["errorResultXdr"] = _b64(error.to_xdr_bytes())
            result["diagnosticEventsXdr"] = []
        return result

    def simulate(self, envelope_b64: str, auth_mode: str | None) -> dict:
        tx = validation.decode(envelope_b64, self.network_id)
        with self.lock:
            result = simulate(self.state, tx, self.next_ledger(), auth_mode)
            result["latestLedger"] = self.latest.seq
            return result

    def wait_applied(self, tx_hash: str, timeout: float = 30.0) -> TxRow | None:
        """Block until `tx_hash` is applied (closing a ledger if closes are manual); None if dropped."""
        with self.lock:
            if not self.auto_close:
                self.close_ledger()
            deadline = threading.TIMEOUT_MAX if timeout is None else timeout
            while True:
                row = self.history.transaction(tx_hash)
                if row is not None or tx_hash in self.dropped:
                    return row
                if not self.closed.wait(deadline):
                    return None

    def _internal(self, signer: Keypair, build) -> dict:
        """Build, sign and submit a transaction from a devnet-held account; wait for it."""
        with self.lock:
            account = self.state.get(E.account_key_bytes(signer.public_key))
            seq = self.pending_seq.get(signer.public_key, E.account_seq(account.data))
            builder = TransactionBuilder(Account(signer.public_key, seq), self.passphrase, base_fee=BASE_FEE)
            envelope = build(builder).add_time_bounds(0, 0).build()
            envelope.sign(signer)
            sent = self.submit(envelope.to_xdr())
        if sent["status"] != "PENDING":
            return {"hash": sent["hash"], "status": "ERROR", "errorResultXdr": sent.get("errorResultXdr")}
        row = self.wait_applied(sent["hash"])
        if row is None:
            return {"hash": sent["hash"], "status": "NOT_FOUND"}
        return {"hash": row.hash, "status": row.status, "ledger": row.ledger, "resultXdr": _b64(row.result)}

    def friendbot(self, address: str) -> dict:
        """Create and fund `address` with 10,000 XLM from the root account."""
        return self._internal(genesis.root(self.passphrase),
                              lambda b: b.append_create_account_op(address, FRIENDBOT_XLM))

    def mint(self, address: str, amount: int) -> dict:
        """Pay `amount` stroops of KALE from the issuer (a mint) to `address`, which needs a trustline."""
        asset = genesis.kale_asset()
        value = format_stroops(amount)
        return self._internal(genesis.kale_issuer(),
                              lambda b: b.append_payment_op(address, asset, value))

    def account_exists(self, address: str) -> bool:
        with self.lock:
            return self.state.get(E.account_key_bytes(address)) is not None

    def close(self) -> None:
        with self.lock:
            self.db.close()
