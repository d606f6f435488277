"""Rate limits shared by every API worker and process, kept in PostgreSQL.

Each key has a GCRA bucket (a "theoretical arrival time"): `limit` requests per
`period` seconds, in bursts of up to `limit`. One statement checks and spends
atomically, so N gunicorn workers or N servers on one database allow exactly the
limit, not N times it. While the database is unreachable, each process falls back
to its own in-memory buckets (the request will likely be a 503 anyway).
"""
from __future__ import annotations

import math
import threading
import time

from flask import Request

from db.connection import DATABASE_UNAVAILABLE, database
from web.errors import ApiError

_TAKE = """
INSERT INTO rate_limits AS b (key, tat) VALUES (%s, extract(epoch FROM clock_timestamp()) + %s)
ON CONFLICT (key) DO UPDATE
   SET tat = greatest(b.tat, extract(epoch FROM clock_timestamp())) + %s
 WHERE b.tat - extract(epoch FROM clock_timestamp()) <= %s
RETURNING tat
"""
_WAIT = "SELECT tat - extract(epoch FROM clock_timestamp()) - %s FROM rate_limits WHERE key = %s"
_FORGET = "DELETE FROM rate_limits WHERE tat < extract(epoch FROM clock_timestamp())"
FORGET_EVERY_SECONDS = 60.0


class RateLimiter:
    """In-process token buckets: `limit` requests per key per `period` seconds, bursts up to `limit`."""

    MAX_KEYS = 100_000

    def __init__(self, limit: int, period: float = 60.0, clock=time.monotonic):
        self.capacity = float(limit)
        self.rate = limit / period
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request for `key`: 0.0 when allowed, else seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_KEYS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        refill_time = self.capacity / self.rate
        self._buckets = {key: value for key, value in self._buckets.items() if now - value[1] < refill_time}


class SharedRateLimiter:
    """GCRA buckets in the `rate_limits` table; `name` keeps its keys apart from other limits'."""

    def __init__(self, name: str, limit: int, period: float = 60.0):
        self.name = name
        self.interval = period / limit          # one request's worth of time
        self.tolerance = period - self.interval  # a full burst of `limit` may arrive at once
        self.fallback = RateLimiter(limit, period)
        self._forgot = time.monotonic()

    def take(self, key: str) -> float:
        """Spend one request for `key`: 0.0 when allowed, else seconds until one is available."""
        key = f"{self.name}:{key}"
        try:
            if database.execute_sql(_TAKE, (key, self.interval, self.interval, self.tolerance)).fetchone():
                self._forget_now_and_then()
                return 0.0
            wait = database.execute_sql(_WAIT, (self.tolerance, key)).fetchone()
            return max(wait[0] if wait else 0.0, 0.001)
        except DATABASE_UNAVAILABLE:
            return self.fallback.take(key)

    def _forget_now_and_then(self) -> None:
        """Delete buckets that are full again (they mean the same as no row), once a minute."""
        if time.monotonic() - self._forgot >= FORGET_EVERY_SECONDS:
            self._forgot = time.monotonic()
            database.execute_sql(_FORGET)


def client_address(request: Request, trusted_hops: int) -> str:
    """The client's address: the X-Forwarded-For entry `trusted_hops` proxies before serve's own front.

    serve's front appends the address it saw to X-Forwarded-For, so with no proxy in front
    (trusted_hops=0) the last entry is the client; each trusted reverse proxy adds one more.
    """
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if not forwarded:
        return request.remote_addr or "unknown"
    return forwarded[-min(len(forwarded), trusted_hops + 1)]


def retry_after(wait_seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))


def limit(limiter: SharedRateLimiter, key: str, what: str = "requests") -> None:
    """Spend one of `key`'s requests from `limiter`, or refuse with 429 and Retry-After."""
    wait = limiter.take(key)
    if wait:
        raise ApiError(429, "rate_limited", f"too many {what}; retry in {retry_after(wait)} s",
                       {"Retry-After": retry_after(wait)})
