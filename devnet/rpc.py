"""JSON-RPC 2.0 methods of Stellar RPC (and devnet_* extras): params validation, shapes, cursors.

Errors follow stellar-rpc: -32700 unparseable JSON, -32600 invalid request (or a
startLedger outside the retention window), -32601 unknown method, -32602 invalid
params (including undecodable XDR), -32603 internal. A failed simulation is a
normal result with `error`.
"""
from __future__ import annotations

import base64
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any, Callable

from stellar_sdk import StrKey, xdr

from devnet import genesis
from devnet.history import EventRow, TxRow, toid
from devnet.ledger import PROTOCOL_VERSION, Chain
from devnet.validation import Malformed

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
MAX_LEDGER_KEYS = 200
EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, EVENTS_WINDOW = 100, 10_000, 10_000
PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT = 50, 200
_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
_EVENT_ID = re.compile(r"^(\d{19})-(\d{10})$")


class RpcError(Exception):
    def __init__(self, code: int, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


def _invalid(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _rfc3339(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(params: dict, name: str, low: int = 0, high: int = 2**32 - 1, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(f"{name} must be an integer between {low} and {high}")
    return value


def _str(params: dict, name: str, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"{name} must be a non-empty string")
    return value


def _object(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be an object")
    return value


def _decimal(cursor: str) -> int:
    if not cursor.isdigit():
        raise _invalid("invalid cursor")
    return int(cursor)


def _pagination(params: dict, default: int, maximum: int) -> tuple[str | None, int]:
    page = _object(params.get("pagination"), "pagination")
    cursor = page.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise _invalid("pagination.cursor must be a string")
    limit = _int(page, "limit", 0, 2**32 - 1, default) or default
    if limit > maximum:
        raise _invalid(f"limit must not exceed {maximum}")
    return cursor or None, limit


class _EventFilter:
    """One getEvents filter: types, contract ids and topic patterns, AND'd together."""

    def __init__(self, raw: Any):
        raw = _object(raw, "filter")
        kinds = raw.get("type")
        if kinds is not None and not isinstance(kinds, str):
            raise _invalid("filter type must be a string")
        self.kinds = set(kinds.split(",")) if kinds else set()
        if not self.kinds <= {"contract", "system"}:
            raise _invalid("filter type must be 'contract' or 'system'")
        ids = raw.get("contractIds") or []
        if not isinstance(ids, list) or len(ids) > 5 or not all(
                isinstance(c, str) and StrKey.is_valid_contract(c) for c in ids):
            raise _invalid("contractIds must be at most 5 valid contract ids")
        self.ids = set(ids)
        topics = raw.get("topics") or []
        if not isinstance(topics, list) or len(topics) > 5:
            raise _invalid("topics must be a list of at most 5 topic filters")
        self.topics = [self._segments(t) for t in topics]

    @staticmethod
    def _segments(topic: Any) -> list[str]:
        if not isinstance(topic, list) or not 1 <= len(topic) <= 4:
            raise _invalid("a topic filter has 1 to 4 segments")
        segments = []
        for i, segment in enumerate(topic):
            if segment in ("*", "**"):
                if segment == "**" and i != len(topic) - 1:
                    raise _invalid("'**' is only allowed as the last segment")
                segments.append(segment)
                continue
            try:
                segments.append(_b64(xdr.SCVal.from_xdr(segment).to_xdr_bytes()))
            except Exception:
                raise _invalid(f"invalid topic segment {segment!r}") from None
        return segments

    def matches(self, event: EventRow) -> bool:
        if self.kinds and event.kind not in self.kinds:
            return False
        if self.ids and event.contract not in self.ids:
            return False
        return not self.topics or any(self._topic_matches(t, event.topics) for t in self.topics)

    @staticmethod
    def _topic_matches(segments: list[str], topics: list[str]) -> bool:
        if segments[-1] == "**":
            segments = segments[:-1]
            if len(topics) < len(segments):
                return False
        elif len(topics) != len(segments):
            return False
        return all(s == "*" or s == t for s, t in zip(segments, topics))


class Rpc:
    """Dispatches JSON-RPC requests to the chain."""

    def __init__(self, chain: Chain, info: dict):
        self.chain = chain
        self.info = info
        self.methods: dict[str, Callable[[dict], Any]] = {
            "getHealth": self.get_health, "getNetwork": self.get_network,
            "getVersionInfo": self.get_version_info, "getLatestLedger": self.get_latest_ledger,
            "getLedgers": self.get_ledgers, "getLedgerEntries": self.get_ledger_entries,
            "getFeeStats": self.get_fee_stats, "simulateTransaction": self.simulate_transaction,
            "sendTransaction": self.send_transaction, "getTransaction": self.get_transaction,
            "getTransactions": self.get_transactions, "getEvents": self.get_events,
            "devnet_info": lambda params: self.info, "devnet_closeLedgers": self.close_ledgers,
            "devnet_mint": self.mint, "devnet_failNext": self.fail_next,
        }

    # -- envelope -------------------------------------------------------------------------------
    def handle(self, body: bytes) -> Any:
        """The JSON response to a request body (a batch gives a list)."""
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            return self._error(None, RpcError(PARSE_ERROR, "parse error: body is not JSON"))
        if isinstance(request, list):
            if not request:
                return self._error(None, RpcError(INVALID_REQUEST, "empty batch"))
            return [self._one(r) for r in request]
        return self._one(request)

    def _one(self, request: Any) -> dict:
        request_id = request.get("id") if isinstance(request, dict) else None
        if isinstance(request_id, (dict, list, bool, float)):
            request_id = None
        try:
            if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
                raise RpcError(INVALID_REQUEST, "invalid request: expected a JSON-RPC 2.0 object")
            method = request.get("method")
            if not isinstance(method, str):
                raise RpcError(INVALID_REQUEST, "invalid request: method must be a string")
            if method not in self.methods:
                raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")
            params = request.get("params")
            if params is not None and not isinstance(params, dict):
                raise _invalid("params must be an object")
            result = self.methods[method](params or {})
            return {"jsonrpc": "2.0", "id": request_id, "result": result}
        except RpcError as exc:
            return self._error(request_id, exc)
        except Exception as exc:
            log.exception("internal error")
            return self._error(request_id, RpcError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}"))

    @staticmethod
    def _error(request_id: Any, exc: RpcError) -> dict:
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": exc.code, "message": exc.message}}

    # -- helpers --------------------------------------------------------------------------------
    def _window(self) -> dict:
        chain = self.chain
        oldest = chain.oldest_seq
        return {"latestLedger": chain.latest.seq, "latestLedgerCloseTime": str(chain.latest.close_time),
                "oldestLedger": oldest, "oldestLedgerCloseTime": str(chain.history.close_time(oldest) or 0)}

    def _start(self, params: dict, cursor: str | None) -> int | None:
        start = _int(params, "startLedger")
        if cursor is not None and start:
            raise _invalid("startLedger and cursor cannot both be set")
        if cursor is None:
            if not start:
                raise _invalid("startLedger must be positive")
            if not self.chain.oldest_seq <= start <= self.chain.latest.seq:
                raise RpcError(INVALID_REQUEST, f"startLedger must be between the oldest ledger "
                                                f"{self.chain.oldest_seq} and the latest ledger "
                                                f"{self.chain.latest.seq}")
        return start

    # -- methods --------------------------------------------------------------------------------
    def get_health(self, params: dict) -> dict:
        with self.chain.lock:
            window = self._window()
            return {"status": "healthy", "ledgerRetentionWindow": self.chain.retention, **window}

    def get_network(self, params: dict) -> dict:
        return {"friendbotUrl": self.info["friendbot_url"], "passphrase": self.chain.passphrase,
                "protocolVersion": PROTOCOL_VERSION}

    def get_version_info(self, params: dict) -> dict:
        return {"version": f"{PROTOCOL_VERSION}.0.0-kalepool-devnet", "commitHash": "kalepool-devnet",
                "buildTimestamp": "2025-01-01T00:00:00Z", "captiveCoreVersion": "kalepool-devnet (native Python)",
                "protocolVersion": PROTOCOL_VERSION}

    def get_latest_ledger(self, params: dict) -> dict:
        with self.chain.lock:
            latest = self.chain.latest
            previous = self.chain.history.ledger(latest.seq - 1)
            return {"id": latest.hash.hex(), "protocolVersion": PROTOCOL_VERSION, "sequence": latest.seq,
                    "closeTime": str(latest.close_time), "headerXdr": _b64(latest.header),
                    "metadataXdr": _b64(latest.close_meta(previous.hash if previous else bytes(32)))}

    def get_ledgers(self, params: dict) -> dict:
        cursor, limit = _pagination(params, PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT)
        with self.chain.lock:
            start = self._start(params, cursor)
            if cursor is not None:
                start = _decimal(cursor) + 1
            rows = self.chain.history.ledgers(start, limit)
            previous = self.chain.history.ledger(start - 1)
            ledgers = []
            previous_hash = previous.hash if previous else bytes(32)
            for row in rows:
                ledgers.append({"hash": row.hash.hex(), "sequence": row.seq, "ledgerCloseTime": str(row.close_time),
                                "headerXdr": _b64(row.history_entry()),
                                "metadataXdr": _b64(row.close_meta(previous_hash))})
                previous_hash = row.hash
            window = self._window()
            return {"ledgers": ledgers, "latestLedger": window["latestLedger"],
                    "latestLedgerCloseTime": window["latestLedgerCloseTime"],
                    "oldestLedger": window["oldestLedger"], "oldestLedgerCloseTime": window["oldestLedgerCloseTime"],
                    "cursor": str(rows[-1].seq if rows else start - 1)}

    def get_ledger_entries(self, params: dict) -> dict:
        keys = params.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > MAX_LEDGER_KEYS:
            raise _invalid(f"keys must be a list of 1 to {MAX_LEDGER_KEYS} ledger keys")
        decoded = []
        for key in keys:
            try:
                raw = base64.b64decode(key, validate=True)
                ledger_key = xdr.LedgerKey.from_xdr_bytes(raw)
            except Exception:
                raise _invalid(f"cannot unmarshal key value {key!r}") from None
            if ledger_key.type == xdr.LedgerEntryType.TTL:
                raise _invalid("ledger ttl entries cannot be queried directly")
            decoded.append((key, ledger_key.to_xdr_bytes()))
        with self.chain.lock:
            entries = []
            for key, raw in decoded:
                entry = self.chain.state.get(raw)
                if entry is None:
                    continue
                item = {"key": key, "xdr": _b64(entry.data_bytes), "lastModifiedLedgerSeq": entry.last_modified}
                if entry.live_until is not None:
                    item["liveUntilLedgerSeq"] = entry.live_until
                entries.append(item)
            return {"entries": entries, "latestLedger": self.chain.latest.seq}

    def get_fee_stats(self, params: dict) -> dict:
        fee = {name: "100" for name in ("max", "min", "mode", "p10", "p20", "p30", "p40", "p50", "p60",
                                         "p70", "p80", "p90", "p95", "p99")}
        fee.update(transactionCount="0", ledgerCount=50)
        return {"sorobanInclusionFee": fee, "inclusionFee": dict(fee), "latestLedger": self.chain.latest.seq}

    def simulate_transaction(self, params: dict) -> dict:
        envelope = _str(params, "transaction")
        auth_mode = params.get("authMode")
        if auth_mode is not None and auth_mode not in ("enforce", "record", "record_allow_nonroot"):
            raise _invalid("authMode must be enforce, record or record_allow_nonroot")
        _object(params.get("resourceConfig"), "resourceConfig")
        try:
            return self.chain.simulate(envelope, auth_mode)
        except Malformed as exc:
            raise _invalid(str(exc)) from None

    def send_transaction(self, params: dict) -> dict:
        try:
            return self.chain.submit(_str(params, "transaction"))
        except Malformed as exc:
            raise _invalid(str(exc)) from None

    @staticmethod
    def _tx_fields(row: TxRow) -> dict:
        return {"status": row.status, "txHash": row.hash, "applicationOrder": row.order, "feeBump": row.fee_bump,
                "envelopeXdr": _b64(row.envelope), "resultXdr": _b64(row.result),
                "resultMetaXdr": _b64(row.meta), "diagnosticEventsXdr": row.diagnostic,
                "events": {"transactionEventsXdr": row.tx_events, "contractEventsXdr": row.contract_events},
                "ledger": row.ledger}

    def get_transaction(self, params: dict) -> dict:
        tx_hash = _str(params, "hash")
        if not _HASH.match(tx_hash):
            raise _invalid("hash must be 64 hex characters")
        with self.chain.lock:
            row = self.chain.history.transaction(tx_hash.lower())
            result = {"status": "NOT_FOUND", "txHash": tx_hash.lower(), **self._window()}
        if row is not None and row.ledger >= result["oldestLedger"]:
            result.update(self._tx_fields(row), createdAt=str(row.created_at))
        return result

    def get_transactions(self, params: dict) -> dict:
        cursor, limit = _pagination(params, PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT)
        with self.chain.lock:
            start = self._start(params, cursor)
            if cursor is not None:
                after = _decimal(cursor)
            else:
                after = toid(start) - 1
            rows = self.chain.history.transactions(max(after, toid(self.chain.oldest_seq) - 1), limit)
            window = self._window()
        return {"transactions": [{**self._tx_fields(r), "createdAt": r.created_at} for r in rows],
                "latestLedger": window["latestLedger"], "latestLedgerCloseTimestamp": int(window["latestLedgerCloseTime"]),
                "oldestLedger": window["oldestLedger"],
                "oldestLedgerCloseTimestamp": int(window["oldestLedgerCloseTime"]),
                "cursor": str(toid(rows[-1].ledger, rows[-1].order, 1) if rows else after)}

    def get_events(self, params: dict) -> dict:
        cursor, limit = _pagination(params, EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT)
        filters_raw = params.get("filters") or []
        if not isinstance(filters_raw, list) or len(filters_raw) > 5:
            raise _invalid("filters must be a list of at most 5 filters")
        filters = [_EventFilter(f) for f in filters_raw]
        end_ledger = _int(params, "endLedger")
        with self.chain.lock:
            if cursor is not None:
                if params.get("startLedger") or end_ledger:
                    raise _invalid("startLedger and endLedger must be absent when a cursor is given")
                match = _EVENT_ID.match(cursor)
                if not match:
                    raise _invalid("invalid cursor")
                position = max((int(match.group(1)), int(match.group(2))), (toid(self.chain.oldest_seq), -1))
                start = position[0] >> 32
            else:
                start = self._start(params, None)
                if end_ledger is not None and end_ledger <= start:
                    raise _invalid("endLedger must be after startLedger")
                position = (toid(start), -1)
            end = min(start + EVENTS_WINDOW, self.chain.latest.seq + 1, end_ledger or 2**32)
            events: list[EventRow] = []
            while len(events) < limit:
                batch = self.chain.history.events(position, toid(end), 1000)
                if not batch:
                    break
                events.extend(e for e in batch if not filters or any(f.matches(e) for f in filters))
                position = (batch[-1].toid, batch[-1].index)
            events = events[:limit]
            close_times = {seq: self.chain.history.close_time(seq) for seq in {e.ledger for e in events}}
            window = self._window()
        if len(events) == limit:
            next_cursor = events[-1].id
        else:
            next_cursor = f"{toid(end - 1) | 0xFFFFFFFF:019d}-{0xFFFFFFFF:010d}"
        return {"events": [self._event(e, close_times[e.ledger]) for e in events], "cursor": next_cursor,
                "latestLedger": window["latestLedger"], "oldestLedger": window["oldestLedger"],
                "latestLedgerCloseTime": window["latestLedgerCloseTime"],
                "oldestLedgerCloseTime": window["oldestLedgerCloseTime"]}

    @staticmethod
    def _event(event: EventRow, close_time: int) -> dict:
        return {"type": event.kind, "ledger": event.ledger, "ledgerClosedAt": _rfc3339(close_time),
                "contractId": event.contract, "id": event.id, "pagingToken": event.id,
                "operationIndex": event.toid & 0xFFF, "transactionIndex": event.toid >> 12 & 0xFFFFF,
                "txHash": event.tx_hash, "inSuccessfulContractCall": True, "topic": event.topics,
                "value": event.value}

    # -- devnet extras ----------------------------------------------------------------------------
    def close_ledgers(self, params: dict) -> dict:
        count = _int(params, "count", 1, 10_000, 1)
        for _ in range(count):
            self.chain.close_ledger()
        return {"latestLedger": self.chain.latest.seq}

    def mint(self, params: dict) -> dict:
        to = _str(params, "to")
        if not StrKey.is_valid_ed25519_public_key(to):
            raise _invalid("to must be a G... account")
        amount = _int(params, "amount", 1, 2**63 - 1)
        if amount is None:
            raise _invalid("amount is required")
        if not self.chain.account_exists(to):
            raise _invalid(f"account {to} does not exist (fund it with friendbot first)")
        result = self.chain.mint(to, amount)
        if result["status"] != "SUCCESS":
            raise _invalid(f"mint failed ({result['status']}): does {to} have a KALE trustline?")
        return result

    def fail_next(self, params: dict) -> dict:
        """Test-only: the next `count` transactions of `source` are accepted but land on chain as failed."""
        source = _str(params, "source")
        if not StrKey.is_valid_ed25519_public_key(source):
            raise _invalid("source must be a G... account")
        count = _int(params, "count", 0, 1_000_000, 1)
        with self.chain.lock:
            if count:
                self.chain.state.fail_next[source] = count
            else:
                self.chain.state.fail_next.pop(source, None)
        return {"source": source, "count": count}


def devnet_info(chain: Chain, host: str, port: int, close_interval: float) -> dict:
    """What `devnet_info` answers: the network and contract constants of this devnet."""
    base = f"http://{host}:{port}"
    asset = genesis.kale_asset()
    return {"passphrase": chain.passphrase, "rpc_url": f"{base}/rpc", "friendbot_url": f"{base}/friendbot",
            "farm_contract": genesis.farm_contract_id(chain.passphrase), "kale_sac": genesis.kale_sac_id(chain.passphrase),
            "kale_asset": f"{asset.code}:{asset.issuer}", "homesteader": genesis.homesteader().public_key,
            "ledger_seconds": chain.ledger_seconds, "close_interval": close_interval, "temp_ttl": chain.temp_ttl}
