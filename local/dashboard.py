"""The live view of `manage.py up`: a rich table redrawn in place on a terminal, a plain status
line every few seconds otherwise (a log file, a pipe, a test reading the output)."""
from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from chain.amounts import format_stroops
from local.run_state import BlockLine, RunState

PLAIN_LINE_SECONDS = 5.0


class Dashboard:
    """Draws the run; use as a context manager so a terminal gets its cursor back."""

    def __init__(self, run: RunState, interactive: bool, console: Console | None = None):
        self.run = run
        self.interactive = interactive
        self._live = Live(console=console or Console(), auto_refresh=False) if interactive else None
        self._last_line = 0.0

    def __enter__(self) -> "Dashboard":
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._live is not None:
            self._live.stop()

    def draw(self) -> None:
        """Redraw the table, or print the status line when it is due."""
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
        elif time.monotonic() - self._last_line >= PLAIN_LINE_SECONDS:
            self._last_line = time.monotonic()
            print(self.status_line(), file=sys.stderr, flush=True)

    def status_line(self) -> str:
        """One line: block, ledger, this run's totals, hash rate, discrepancies, who is leaving."""
        run = self.run
        line = (f"block {run.index} ledger {run.latest_ledger} ({run.ledgers_left} left, "
                f"protocol {run.protocol_version}) | "
                f"planted {sum(f.planted for f in run.farmers)} worked {sum(f.worked for f in run.farmers)} "
                f"harvested {sum(f.harvested for f in run.farmers)} | {run.hash_rate_mhs:.2f} MH/s | "
                f"discrepancies {run.discrepancies}")
        leaving = [f"farmer {f.id} leaving, waits for: {f.waits_for}" for f in run.farmers if f.waits_for]
        return " | ".join([line, *leaving])

    def render(self) -> RenderableType:
        """The whole screen: headline, this block's time, recent blocks, farmers, leaving farmers."""
        run = self.run
        minutes, seconds = divmod(int(time.time() - run.started), 60)
        head = Text.assemble(
            ("kalepool up", "bold"), f" — API {run.api_url}   (Ctrl-C stops everything; logs in {run.log_dir})\n",
            f"protocol {run.protocol_version}   hash rate {run.hash_rate_mhs:.2f} MH/s   "
            f"compensations {run.compensations}   discrepancies {run.discrepancies}   "
            f"this run: {minutes}m{seconds:02d}s since block {run.first_block}")
        parts: list[RenderableType] = [head, self._block_time(), self._blocks_table(), self._farmers_table()]
        parts += [Text(f"farmer {f.id} is leaving; its settlement waits for: {f.waits_for}", style="yellow")
                  for f in run.farmers if f.waits_for]
        return Group(*parts)

    def _block_time(self) -> Table:
        run = self.run
        left = run.ledgers_left if run.ledgers_left is not None else run.ledgers_in_block
        elapsed = max(0, run.ledgers_in_block - left)
        grid = Table.grid(padding=(0, 1))
        grid.add_row(f"block {run.index}", ProgressBar(total=run.ledgers_in_block, completed=elapsed, width=40),
                     f"ledger {run.latest_ledger}, ~{run.ledgers_left} ledgers left")
        return grid

    def _blocks_table(self) -> Table:
        table = Table(title="recent blocks: pails planted, worked, closed", title_justify="left")
        for name in ("block", "planted", "worked", "closed"):
            table.add_column(name, justify="right")
        table.add_column("progress")
        for block in self.run.recent:
            table.add_row(str(block.index), str(block.planted), str(block.worked), str(block.closed),
                          _pail_progress(block))
        return table

    def _farmers_table(self) -> Table:
        table = Table(title=f"farmers (counts: this run, blocks {self.run.first_block}+; rewards: all time)",
                      title_justify="left")
        table.add_column("farmer", justify="right")
        table.add_column("address")
        table.add_column("status")
        table.add_column(f"in block {self.run.index}")
        for name in ("planted", "worked", "harvested", "best zeros", "rewards (KALE)"):
            table.add_column(name, justify="right")
        for farmer in self.run.farmers:
            table.add_row(str(farmer.id), farmer.address[:12] + "..", farmer.status, farmer.in_block,
                          str(farmer.planted), str(farmer.worked), str(farmer.harvested),
                          "-" if farmer.best_zeros is None else str(farmer.best_zeros),
                          format_stroops(farmer.rewards))
        return table


def _pail_progress(block: BlockLine) -> ProgressBar:
    """Each planted pail counts twice: once worked, once closed."""
    return ProgressBar(total=max(2 * block.planted, 1), completed=block.worked + block.closed, width=24)
