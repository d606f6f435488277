"""What the pooler agent tells people and log shippers: a live terminal view, or one JSON line per event.

See gpu_miner/agent/coordinator.py's docstring for the events and their fields.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

MAX_ROWS = 20  # farmers listed in the terminal view; the rest are counted
QUIET = ("improved",)  # events the terminal view shows in its status block rather than as lines


def short(address: str) -> str:
    """G-address shortened for a terminal line: GABC…WXYZ."""
    return f"{address[:4]}…{address[-4:]}" if len(address) > 10 else address


def rate_text(hashes_per_second: float | None) -> str:
    if not hashes_per_second:
        return "- H/s"
    for unit, scale in (("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if hashes_per_second >= scale:
            return f"{hashes_per_second / scale:.2f} {unit}"
    return f"{hashes_per_second:.0f} H/s"


class JsonLines:
    """One JSON object per line per event, flushed at once: {"event": ..., "time": ..., ...}."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, default=str)
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def show(self, snapshot: dict[str, Any]) -> None:
        self.emit("status", **snapshot)


class Terminal:
    """Event lines scrolling above a status block that is redrawn in place (plain lines without a tty).

    Improvements are not logged as lines: the status block shows each farmer's best zeros.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.live = self.out.isatty()
        self._drawn = 0
        self._last: list[str] = []
        self._plain_at = 0.0
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        if event in QUIET:
            return
        line = f"{time.strftime('%H:%M:%S')} {event:<12} {describe(event, fields)}"
        with self._lock:
            self._erase()
            self.out.write(line + "\n")
            self._draw(self._last)

    def show(self, snapshot: dict[str, Any]) -> None:
        lines = status_lines(snapshot)
        with self._lock:
            if not self.live:
                if time.monotonic() - self._plain_at >= 10:
                    self._plain_at = time.monotonic()
                    self.out.write(f"{time.strftime('%H:%M:%S')} status       {lines[0]}\n")
                    self.out.flush()
                return
            self._erase()
            self._draw(lines)

    def _erase(self) -> None:
        if self.live and self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
        self._drawn = 0

    def _draw(self, lines: list[str]) -> None:
        self._last = lines
        if self.live:
            for line in lines:
                self.out.write(line + "\n")
            self._drawn = len(lines)
        self.out.flush()


def status_lines(s: dict[str, Any]) -> list[str]:
    """The status block: a headline, then one line per farmer."""
    if s.get("block") is None:
        return [f"waiting for a block  ledger {s.get('ledger')}  {rate_text(s.get('hash_rate'))}"]
    head = (f"block {s['block']}  ledger {s.get('ledger')}  ledgers left {s.get('ledgers_left')}"
            f" (target {s.get('target')})  farmers {len(s.get('farmers', {}))}"
            f"  {rate_text(s.get('hash_rate'))}  idle {100 * (s.get('idle') or 0):.1f}%")
    farmers = sorted(s.get("farmers", {}).items())
    rows = []
    for address, farmer in farmers[:MAX_ROWS]:
        best, sent = farmer.get("best"), farmer.get("sent")
        rows.append(f"  {short(address)}  zeros {best if best is not None else '-':>2}"
                    f"  sent {sent if sent is not None else '-':>2}  {farmer.get('state', '')}")
    if len(farmers) > MAX_ROWS:
        rows.append(f"  … and {len(farmers) - MAX_ROWS} more farmers")
    return [head, *rows]


def describe(event: str, f: dict[str, Any]) -> str:
    """One human line for an event."""
    who = short(f["farmer"]) if "farmer" in f else ""
    if event == "improved":
        return f"block {f['block']} {who} {f['zeros']} zeros (nonce {f['nonce']})"
    if event == "submitted":
        return f"block {f['block']} {who} {f['zeros']} zeros tx {f['tx_hash'][:12]} via channel {f['channel']}"
    if event == "confirmed":
        outcome = f"gap {f.get('gap')}" if f.get("status") == "success" else f.get("reason", "")
        return f"block {f['block']} {who} {f.get('status')} in ledger {f.get('ledger')} {outcome}"
    if event == "planted":
        return f"block {f['block']} planted {len(f.get('planted', []))}, failed {len(f.get('failed', []))}"
    if event == "reported":
        return f"block {f['block']} accepted {len(f.get('accepted', []))}, rejected {len(f.get('rejected', []))}"
    if event == "block_done":
        return (f"block {f['block']} worked {f.get('worked')}/{f.get('farmers')}  "
                f"idle {100 * (f.get('idle_fraction') or 0):.2f}% of {f.get('wall_seconds')} s")
    return " ".join(f"{k}={v}" for k, v in f.items())
