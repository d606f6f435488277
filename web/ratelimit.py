"""Token buckets per API token and per client IP, held in the worker process.

Each gunicorn worker keeps its own buckets, so with N workers a client may get
up to N times the configured rate in the worst case; that bounds abuse without
a round trip to the database on every request.
"""
from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """`per_minute` requests per key per minute, with bursts up to `per_minute`."""

    MAX_KEYS = 100_000

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
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


def retry_after(wait_seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))
