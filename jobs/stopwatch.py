"""Where the time goes: seconds spent per named phase, summed across threads."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator


class Stopwatch:
    """Accumulates wall seconds and counts per phase; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the enclosed block under `name`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
                self.counts[name] = self.counts.get(name, 0) + 1

    def reset(self) -> None:
        """Forget everything measured so far."""
        with self._lock:
            self.seconds.clear()
            self.counts.clear()
