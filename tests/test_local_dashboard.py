"""The live view of `manage.py up`: what it shows, on a terminal and off one (rendering only)."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from config import load_settings
from local.dashboard import Dashboard
from local.run_state import BlockLine, FarmerLine, RunState


def a_run() -> RunState:
    """Block 12, a worked farmer, a planted one, an unplanted one and a leaving one."""
    run = RunState(demo=None, api_url="http://127.0.0.1:9", client_settings=load_settings(environ={}),
                   log_dir=Path("/nonexistent"))
    run.index, run.first_block, run.latest_ledger, run.protocol_version = 12, 10, 745, 23
    run.ledgers_left, run.ledgers_in_block = 15, 60
    run.recent = [BlockLine(11, 3, 3, 3), BlockLine(12, 3, 1, 0)]
    run.farmers = [
        FarmerLine(1, "GAAAAAAAAAAAAAAAAAAA", "active", 3, 3, 2, 12_500_000, 7, in_block="worked (7 zeros)"),
        FarmerLine(2, "GBBBBBBBBBBBBBBBBBBB", "active", 3, 2, 2, 0, None, in_block="planted, hashing"),
        FarmerLine(3, "GCCCCCCCCCCCCCCCCCCC", "active", 0, 0, 0, 0, None, in_block="not planted (no KALE)"),
        FarmerLine(4, "GDDDDDDDDDDDDDDDDDDD", "leaving", 2, 2, 1, 0, 5, in_block="not planted (leaving)",
                   waits_for="block 11's pail is not harvested yet"),
    ]
    return run


def screen(run: RunState) -> str:
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(Dashboard(run, interactive=False).render())
    return console.export_text()


def rows(text: str) -> list[list[str]]:
    """The table rows of a rendered screen, as lists of cell texts."""
    return [[cell.strip() for cell in line.strip("│ ").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def test_off_a_terminal_each_draw_is_one_plain_line_on_stderr(capsys):
    Dashboard(a_run(), interactive=False).draw()
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0]
    assert lines[0].startswith("block 12 ledger 745 (15 left, protocol 23) | planted 8 worked 7 harvested 5")


def test_the_plain_line_says_what_a_leaving_farmer_waits_for():
    line = Dashboard(a_run(), interactive=False).status_line()
    assert line.endswith("| farmer 4 leaving, waits for: block 11's pail is not harvested yet")


def test_the_table_shows_each_farmers_state_in_the_current_block():
    text = screen(a_run())
    assert "in block 12" in text
    farmers = {row[0]: row for row in rows(text) if len(row) == 9}
    assert farmers["1"][3] == "worked (7 zeros)" and farmers["2"][3] == "planted, hashing"
    assert farmers["3"][3] == "not planted (no KALE)" and farmers["4"][2] == "leaving"
    assert farmers["1"][8] == "1.2500000"  # all-time rewards in KALE, from stroops


def test_the_table_labels_its_time_spans_and_shows_every_recent_block():
    text = screen(a_run())
    assert "counts: this run, blocks 10+; rewards: all time" in text
    assert "ledger 745, ~15 ledgers left" in text
    blocks = [row[:4] for row in rows(text) if len(row) == 5]
    assert blocks == [["11", "3", "3", "3"], ["12", "3", "1", "0"]]


def test_the_table_says_what_a_leaving_farmer_waits_for():
    assert "farmer 4 is leaving; its settlement waits for: block 11's pail is not harvested yet" in screen(a_run())


def test_on_a_terminal_the_view_is_redrawn_in_place_and_the_cursor_comes_back():
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=200)
    with Dashboard(a_run(), interactive=True, console=console) as dashboard:
        dashboard.draw()
        dashboard.draw()
    drawn = output.getvalue()
    assert drawn.count("farmer 4 is leaving") >= 2  # two frames
    assert "\x1b[?25l" in drawn and drawn.rstrip().endswith("\x1b[?25h")  # cursor hidden, then shown again
