"""HTTP to the pool's pooler API: ask for plants, report work (see BRIEF "The pool <-> pooler API")."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests

PLANT_TIMEOUT = 180.0  # the longest we wait for a planting, polling the pool while it runs
PLANT_CALL_TIMEOUT = 30.0  # the pool answers a plant request (200, or 202 "still planting") well within this
POLL_TIMEOUT = 10.0
POLL_INTERVAL = 1.0
REPORT_TIMEOUT = 60.0


class PoolUnavailable(RuntimeError):
    """The pool could not be reached, timed out, or answered with a server error (try again)."""


class PoolRefused(RuntimeError):
    """The pool answered 4xx: a bad API key or a bad request (trying again will not help)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code = status, code
        super().__init__(f"pool refused ({status} {code}): {message}")


@dataclass(frozen=True)
class OpenBlock:
    """The block the pool planted in: what the hash commits to, and when it opened."""

    index: int
    entropy: bytes
    timestamp: int


@dataclass(frozen=True)
class Planted:
    """A farmer the pool planted: its address, plant ledger and stake."""

    address: str
    block_index: int
    ledger: int | None
    stake: int | None
    farmer_id: int | None


@dataclass(frozen=True)
class PlantAnswer:
    """The pool's answer to a plant request."""

    block: OpenBlock | None
    planted: list[Planted]
    failed: list[dict[str, Any]]
    pending: list[dict[str, Any]] = field(default_factory=list)  # sent, not yet confirmed: ask again later


def pool_host(url: str) -> str:
    """host[:port] of the pool URL, for naming the state file."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"pool URL must be http(s)://host[:port][/path], got {url!r}")
    return parsed.netloc.replace(":", "_")


class PoolClient:
    """The calling pooler's side of /api/v1/pooler/*."""

    def __init__(self, base_url: str, api_key: str, session: requests.Session | None = None) -> None:
        pool_host(base_url)
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/api/v1"):
            self.base_url += "/api/v1"
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _post(self, path: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        return self._call("POST", path, body, timeout)[1]

    def _call(self, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> tuple[int, dict[str, Any]]:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, json=body, timeout=(5.0, timeout))
        except requests.RequestException as exc:
            raise PoolUnavailable(f"pool {url} unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise PoolUnavailable(f"pool {url} answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise PoolUnavailable(f"pool {url} answered {response.status_code} without JSON") from None
        if response.status_code >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise PoolRefused(response.status_code, str(error.get("code", "error")),
                              str(error.get("message", response.text[:200])))
        if not isinstance(data, dict):
            raise PoolUnavailable(f"pool {url} answered {response.status_code} without a JSON object")
        return response.status_code, data

    def plant_request(self, block_index: int | None = None, timeout: float = PLANT_TIMEOUT) -> PlantAnswer:
        """Ask the pool to plant this pooler's farmers in the open block (idempotent per block).

        The pool answers within seconds: the outcome, or 202 while the planting goes on, in
        which case we poll the URL it gives until the outcome is there (or `timeout` passes).
        """
        body = {} if block_index is None else {"block_index": block_index}
        deadline = time.monotonic() + timeout
        status, data = self._call("POST", "/pooler/plant-request", body, PLANT_CALL_TIMEOUT)
        while status == 202:
            poll = str(data.get("poll", ""))
            if not poll.startswith("/api/v1/pooler/plant-requests/"):
                raise PoolUnavailable(f"pool answered 202 without a poll URL: {str(data)[:200]}")
            if time.monotonic() >= deadline:
                raise PoolUnavailable(f"the pool was still planting after {timeout:.0f} s")
            time.sleep(POLL_INTERVAL)
            status, data = self._call("GET", poll[len("/api/v1"):], None, POLL_TIMEOUT)
        try:
            return _plant_answer(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise PoolUnavailable(f"pool answered a malformed plant-request: {exc!r}") from None

    def work_complete(self, results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """Report works (farmer, block_index, nonce, hash, tx_hash); the pool verifies each."""
        data = self._post("/pooler/work-complete", {"results": results}, REPORT_TIMEOUT)
        return {"accepted": list(data.get("accepted", [])), "rejected": list(data.get("rejected", []))}

    def report_status(self, agent: str, hash_rate: int, block_index: int | None = None) -> dict[str, Any]:
        """Tell the pool this agent's hash rate (hashes per second), shown in the pooler's console."""
        body: dict[str, Any] = {"agent": agent, "hash_rate": hash_rate}
        if block_index is not None:
            body["block_index"] = block_index
        return self._post("/pooler/status", body, REPORT_TIMEOUT)


def _plant_answer(data: dict[str, Any]) -> PlantAnswer:
    raw = data.get("block")
    block = None if not raw else OpenBlock(index=int(raw["index"]), entropy=bytes.fromhex(raw["entropy"]),
                                           timestamp=int(raw["timestamp"]))
    if block is not None and len(block.entropy) != 32:
        raise ValueError("entropy must be 32 bytes")
    planted = [Planted(address=p["address"], block_index=int(p["block_index"]),
                       ledger=None if p.get("ledger") is None else int(p["ledger"]),
                       stake=None if p.get("stake") is None else int(p["stake"]),
                       farmer_id=p.get("farmer_id"))
               for p in data.get("planted", [])]
    return PlantAnswer(block=block, planted=planted, failed=list(data.get("failed", [])),
                       pending=list(data.get("pending", [])))
