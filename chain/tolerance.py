"""What the pool could not decode: union arms and extensions newer than its XDR, counted and logged once.

The network upgrades before the Python SDK does (protocol 30 arrived before any stellar-sdk
that knows it). The pool's byte walkers decode only what they need and know the arms of
the current protocol; when they meet an arm they cannot size they raise `UnknownArm`, the
caller keeps going without that item, and `skipped` says what was left out and how often.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger(__name__)
_lock = threading.Lock()
_counts: Counter[tuple[str, str]] = Counter()


class UnknownArm(ValueError):
    """An XDR union arm (or extension version) the decoder does not know, so cannot skip."""

    def __init__(self, kind: str, arm: int | str, position: int = 0):
        self.kind = kind
        self.arm = arm
        self.position = position
        super().__init__(f"unknown {kind} arm {arm} at byte {position}")

    @property
    def label(self) -> str:
        """`Kind:arm`, the key it is counted under."""
        return f"{self.kind}:{self.arm}"


def note_skipped(where: str, error: Exception) -> None:
    """Count one item `where` could not decode; log the first of each kind (later ones only count)."""
    label = error.label if isinstance(error, UnknownArm) else type(error).__name__
    with _lock:
        _counts[(where, label)] += 1
        first = _counts[(where, label)] == 1
    if first:
        log.warning("%s: skipped an item it cannot decode (%s); the pool goes on without it, "
                    "later ones are only counted", where, error)


def skipped() -> dict[str, int]:
    """Every skip so far, as {"where kind:arm": count}."""
    with _lock:
        return {f"{where} {label}": count for (where, label), count in sorted(_counts.items())}


def skipped_total() -> int:
    """How many items were skipped so far, all kinds together."""
    with _lock:
        return sum(_counts.values())
