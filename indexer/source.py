"""The pages the indexer reads from a Stellar RPC: ledgers, transactions and events, complete
for a range of ledgers or not at all.

Raw JSON-RPC (no pydantic models in the hot path). `ledgers` says which ledgers exist;
`transactions` and `events` page until they can prove they hold everything up to the last
of those ledgers (a short page, or an item past it), so a range is never half-read.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import requests

from chain.ledger_header import header_from_base64

TRANSACTIONS_PAGE = 200
EVENTS_PAGE = 10_000
LEDGERS_PAGE = 200


class RpcError(RuntimeError):
    """The RPC answered with a JSON-RPC error (code, message) or could not be reached (code None)."""

    def __init__(self, method: str, code: int | None, message: str):
        self.method = method
        self.code = code
        super().__init__(f"{method}: {message}" + (f" (code {code})" if code is not None else ""))


class RetentionExceeded(RuntimeError):
    """The next ledger to index is older than anything the RPC still keeps."""

    def __init__(self, next_ledger: int, oldest: int, latest: int):
        self.next_ledger = next_ledger
        self.oldest = oldest
        self.latest = latest
        super().__init__(
            f"the indexer needs ledger {next_ledger} but this RPC keeps only ledgers {oldest}..{latest}: "
            f"ledgers {next_ledger}..{oldest - 1} have left its retention window. Nothing was skipped. "
            f"Point KALEPOOL_RPC_URL at an RPC that still holds them (or a history archive RPC) and run "
            f"the indexer again; it resumes at ledger {next_ledger}.")


@dataclass(frozen=True)
class Marker:
    """A ledger as getLedgers reports it."""

    sequence: int
    hash: str
    previous_hash: str | None
    close_time: int
    protocol_version: int | None = None


@dataclass(frozen=True)
class RawTransaction:
    """One getTransactions item, XDR still base64."""

    hash: str
    ledger: int
    order: int
    status: str
    fee_bump: bool
    created_at: int
    envelope: str
    result: str
    meta: str
    diagnostic: tuple[str, ...]


@dataclass(frozen=True)
class RawEvent:
    """One getEvents item, ScVals still base64."""

    id: str
    ledger: int
    tx_hash: str
    contract: str
    topic: tuple[str, ...]
    value: str


def _marker(item: dict[str, Any]) -> Marker:
    """A getLedgers item as a Marker; its header read by hand (any protocol's StellarValue arm)."""
    header = header_from_base64(item.get("headerXdr"))
    return Marker(int(item["sequence"]), item["hash"], header.previous_hash.hex() if header else None,
                  int(item["ledgerCloseTime"]), header.protocol_version if header else None)


def event_ledger(event_id: str) -> int:
    """The ledger of an event id or getEvents cursor (`%019d TOID-%010d index`)."""
    return int(event_id.split("-", 1)[0]) >> 32


class RpcSource:
    """Reads ledger ranges from one RPC URL."""

    def __init__(self, url: str, timeout: float = 30.0, transactions_page: int = TRANSACTIONS_PAGE,
                 events_page: int = EVENTS_PAGE):
        self.url = url
        self.timeout = timeout
        self.transactions_page = transactions_page
        self.events_page = events_page
        self.session = requests.Session()
        self._ids = itertools.count(1)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One JSON-RPC call; its `result`, or RpcError."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise RpcError(method, None, f"RPC {self.url} unreachable or not JSON: {exc}") from None
        if answer.get("error"):
            error = answer["error"]
            raise RpcError(method, error.get("code"), str(error.get("message", error)))
        if answer.get("result") is None:
            raise RpcError(method, None, "answer has no result")
        return answer["result"]

    def latest_ledger(self) -> int:
        """The sequence of the latest closed ledger."""
        return int(self.call("getLatestLedger")["sequence"])

    def retained(self) -> tuple[int, int]:
        """(oldest, latest) ledger the RPC keeps."""
        latest = self.latest_ledger()
        result = self.call("getLedgers", {"startLedger": latest, "pagination": {"limit": 1}})
        return int(result["oldestLedger"]), int(result["latestLedger"])

    def ledgers(self, start: int, limit: int = LEDGERS_PAGE) -> list[Marker]:
        """Up to `limit` ledgers from `start` on (empty past the tip); RetentionExceeded when
        `start` is older than what the RPC keeps."""
        if start > self.latest_ledger():
            return []
        try:
            result = self.call("getLedgers", {"startLedger": start, "pagination": {"limit": limit}})
        except RpcError:
            oldest, latest = self.retained()
            if start < oldest:
                raise RetentionExceeded(start, oldest, latest) from None
            raise
        if start < int(result["oldestLedger"]):
            raise RetentionExceeded(start, int(result["oldestLedger"]), int(result["latestLedger"]))
        return [_marker(item) for item in result["ledgers"]]

    def transactions(self, start: int, last: int) -> tuple[list[RawTransaction], int]:
        """Every transaction of ledgers start..last, and the last ledger they are complete for
        (`last`, or less if the RPC's own latest ledger is behind it)."""
        found: list[RawTransaction] = []
        limit = self.transactions_page
        params: dict[str, Any] = {"startLedger": start, "pagination": {"limit": limit}}
        while True:
            result = self.call("getTransactions", params)
            page = result.get("transactions") or []
            for item in page:
                if int(item["ledger"]) > last:
                    return found, last
                found.append(RawTransaction(
                    item["txHash"], int(item["ledger"]), int(item["applicationOrder"]), item["status"],
                    bool(item.get("feeBump")), int(item.get("createdAt") or 0), item["envelopeXdr"],
                    item["resultXdr"], item["resultMetaXdr"], tuple(item.get("diagnosticEventsXdr") or ())))
            if len(page) < limit:
                return found, min(last, int(result["latestLedger"]))
            params = {"pagination": {"cursor": result["cursor"], "limit": limit}}

    def events(self, start: int, last: int, contract: str) -> list[RawEvent]:
        """Every event `contract` emitted in ledgers start..last."""
        found: list[RawEvent] = []
        limit = self.events_page
        params: dict[str, Any] = {"startLedger": start, "endLedger": last + 1,
                                  "filters": [{"type": "contract", "contractIds": [contract]}],
                                  "pagination": {"limit": limit}}
        while True:
            result = self.call("getEvents", params)
            page = result.get("events") or []
            for item in page:
                ledger = int(item["ledger"])
                if ledger > last:
                    return found
                found.append(RawEvent(item["id"], ledger, item["txHash"], item.get("contractId") or "",
                                      tuple(item["topic"]), item["value"]))
            if len(page) < limit and event_ledger(result["cursor"]) >= last:
                return found
            params = {"filters": params["filters"], "pagination": {"cursor": result["cursor"], "limit": limit}}
