"""Fault injection for crash tests: SIGKILL this process at a named point of submission.

`KALEPOOL_FAULTS="after_intent_commit:0.2,after_submit:0.2,before_result_recorded:0.2"`
kills the process with the given probability each time it passes that point. Unset (the
default, always in production), every crash point is a no-op.
"""
from __future__ import annotations

import os
import random
import signal

POINTS = ("after_intent_commit", "after_submit", "before_result_recorded")


def _parse(spec: str) -> dict[str, float]:
    chances = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, chance = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"KALEPOOL_FAULTS: unknown crash point {name!r}")
        chances[name] = float(chance or 1)
    return chances


_CHANCES = _parse(os.environ.get("KALEPOOL_FAULTS", ""))


def crash_point(name: str) -> None:
    """Die here, as SIGKILL would, when fault injection asks for it."""
    chance = _CHANCES.get(name)
    if chance and random.random() < chance:
        os.kill(os.getpid(), signal.SIGKILL)
