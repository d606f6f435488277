"""gpu_miner.agent.view: JSON lines for log shippers, a live rich status table for people."""
import io
import json

from rich.console import Console

from gpu_miner.agent.view import MAX_ROWS, JsonLines, Terminal, headline, status_view

FARMER = "GBQJSRMX43UYILJSGRY2JTOQTNLA3645XICIPS322MMPAMWIQQLOFUBI"
SNAPSHOT = {"block": 7, "ledger": 120, "ledgers_left": 12, "target": 130, "hash_rate": 31_500_000, "idle": 0.004,
            "farmers": {FARMER: {"best": 7, "sent": None, "state": "planted"}}}


def rendered(renderable) -> str:
    console = Console(file=io.StringIO(), width=120)
    console.print(renderable)
    return console.file.getvalue()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_each_event_is_one_json_object_with_its_name_and_time():
    out = io.StringIO()
    lines = JsonLines(out)
    lines.emit("improved", block=7, farmer=FARMER, zeros=8, nonce=12, hash="00" * 32)
    lines.show(SNAPSHOT)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "improved" and first["zeros"] == 8 and isinstance(first["time"], float)
    assert second["event"] == "status" and second["farmers"][FARMER]["best"] == 7


def test_the_headline_shows_block_ledgers_left_rate_and_idle_share():
    head = headline(SNAPSHOT)
    assert "block 7" in head and "ledgers left 12" in head and "31.50 MH/s" in head and "idle 0.4%" in head


def test_the_status_table_has_a_row_per_farmer_and_a_bar_of_work_sent():
    text = rendered(status_view(SNAPSHOT))
    row = next(line for line in text.splitlines() if "GBQJ…FUBI" in line)
    assert row.split() == ["GBQJ…FUBI", "7", "-", "planted"]
    assert "work sent 0/1" in text


def test_without_a_terminal_events_are_plain_lines():
    out = io.StringIO()
    terminal = Terminal(out)
    terminal.show(SNAPSHOT)
    terminal.emit("submitted", block=7, farmer=FARMER, zeros=8, tx_hash="ab" * 32, channel=2)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "status" in text and "block 7" in text
    assert "submitted" in text and "GBQJ…FUBI 8 zeros" in text and "channel 2" in text


def test_on_a_terminal_the_table_is_drawn_live_and_events_scroll_above_it():
    out = Tty()
    terminal = Terminal(out)
    terminal.show(SNAPSHOT)
    terminal.emit("submitted", block=7, farmer=FARMER, zeros=8, tx_hash="ab" * 32, channel=2)
    terminal.emit("stopped", reason="test")
    text = out.getvalue()
    assert "\x1b[" in text and "GBQJ…FUBI" in text and "ledgers left 12" in text
    assert "channel 2" in text and "reason=test" in text


def test_the_terminal_leaves_improvements_to_the_status_table():
    out = io.StringIO()
    Terminal(out).emit("improved", block=7, farmer=FARMER, zeros=8, nonce=12, hash="00" * 32)
    assert out.getvalue() == ""


def test_a_long_farmer_list_is_cut_to_a_screenful():
    farmers = {f"G{i:055d}": {"best": 5, "sent": None, "state": "planted"} for i in range(50)}
    text = rendered(status_view({**SNAPSHOT, "farmers": farmers}))
    assert sum("planted" in line for line in text.splitlines()) == MAX_ROWS
    assert "… and 30 more farmers" in text
