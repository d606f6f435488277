"""What the pooler agent tells people and log shippers: a live terminal view (rich), or one JSON line per event.

See gpu_miner/agent/coordinator.py's docstring for the events and their fields.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

MAX_ROWS = 20  # farmers listed in the terminal view; the rest are counted
PLAIN_SECONDS = 10.0  # without a terminal, how often the status headline is written
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
    """Event lines scrolling above a live status table (rich); plain lines when the output is not a terminal.

    Improvements are not logged as lines: the table shows each farmer's best zeros.
    Without a terminal the status headline is written every PLAIN_SECONDS instead.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self.console = Console(file=out or sys.stdout, highlight=False)
        self._live: Live | None = None
        self._plain_at = -PLAIN_SECONDS
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        if event in QUIET:
            return
        line = Text(f"{time.strftime('%H:%M:%S')} {event:<12} {describe(event, fields)}")
        with self._lock:
            self.console.print(line, soft_wrap=True)
            if event == "stopped" and self._live is not None:  # the agent's last event
                self._live.stop()
                self._live = None

    def show(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            if not self.console.is_terminal:
                if time.monotonic() - self._plain_at >= PLAIN_SECONDS:
                    self._plain_at = time.monotonic()
                    line = Text(f"{time.strftime('%H:%M:%S')} status       {headline(snapshot)}")
                    self.console.print(line, soft_wrap=True)
                return
            if self._live is None:
                self._live = Live(console=self.console, auto_refresh=False)
                self._live.start()
            self._live.update(status_view(snapshot), refresh=True)


def headline(s: dict[str, Any]) -> str:
    """One line: block, ledgers left and target, farmers, hash rate, device idle share."""
    if s.get("block") is None:
        return f"waiting for a block  ledger {s.get('ledger')}  {rate_text(s.get('hash_rate'))}"
    return (f"block {s['block']}  ledger {s.get('ledger')}  ledgers left {s.get('ledgers_left')}"
            f" (target {s.get('target')})  farmers {len(s.get('farmers', {}))}"
            f"  {rate_text(s.get('hash_rate'))}  idle {100 * (s.get('idle') or 0):.1f}%")


def status_view(s: dict[str, Any]) -> Group:
    """The live view: the headline, a bar of farmers whose work is sent, one table row per farmer."""
    farmers = sorted(s.get("farmers", {}).items())
    sent = sum(1 for _, farmer in farmers if farmer.get("sent") is not None)
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for column, justify in (("farmer", "left"), ("best", "right"), ("sent", "right"), ("state", "left")):
        table.add_column(column, justify=justify)
    for address, farmer in farmers[:MAX_ROWS]:
        best, sent_zeros = farmer.get("best"), farmer.get("sent")
        table.add_row(short(address), "-" if best is None else str(best),
                      "-" if sent_zeros is None else str(sent_zeros), farmer.get("state", ""))
    if len(farmers) > MAX_ROWS:
        table.caption = f"… and {len(farmers) - MAX_ROWS} more farmers"
    parts: list[Any] = [Text(headline(s), style="bold")]
    if farmers:
        parts.append(Columns([Text(f"work sent {sent}/{len(farmers)}"),
                              ProgressBar(total=len(farmers), completed=sent, width=40)]))
        parts.append(table)
    return Group(*parts)


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
