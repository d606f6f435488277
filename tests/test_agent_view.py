"""gpu_miner.agent.view: JSON lines for log shippers, a redrawn status block for people."""
import io
import json

from gpu_miner.agent.view import MAX_ROWS, JsonLines, Terminal, status_lines

FARMER = "GBQJSRMX43UYILJSGRY2JTOQTNLA3645XICIPS322MMPAMWIQQLOFUBI"
SNAPSHOT = {"block": 7, "ledger": 120, "ledgers_left": 12, "target": 130, "hash_rate": 31_500_000, "idle": 0.004,
            "farmers": {FARMER: {"best": 7, "sent": None, "state": "planted"}}}


def test_each_event_is_one_json_object_with_its_name_and_time():
    out = io.StringIO()
    lines = JsonLines(out)
    lines.emit("improved", block=7, farmer=FARMER, zeros=8, nonce=12, hash="00" * 32)
    lines.show(SNAPSHOT)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "improved" and first["zeros"] == 8 and isinstance(first["time"], float)
    assert second["event"] == "status" and second["farmers"][FARMER]["best"] == 7


def test_the_status_block_shows_block_ledgers_left_rate_and_each_farmer():
    head, row = status_lines(SNAPSHOT)
    assert "block 7" in head and "ledgers left 12" in head and "31.50 MH/s" in head and "idle 0.4%" in head
    assert "GBQJ…FUBI" in row and "zeros  7" in row and "planted" in row


def test_without_a_terminal_events_are_plain_lines():
    out = io.StringIO()
    terminal = Terminal(out)
    terminal.show(SNAPSHOT)
    terminal.emit("submitted", block=7, farmer=FARMER, zeros=8, tx_hash="ab" * 32, channel=2)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "submitted" in text and "GBQJ…FUBI 8 zeros" in text and "channel 2" in text


def test_the_terminal_leaves_improvements_to_the_status_block():
    out = io.StringIO()
    Terminal(out).emit("improved", block=7, farmer=FARMER, zeros=8, nonce=12, hash="00" * 32)
    assert out.getvalue() == ""


def test_a_long_farmer_list_is_cut_to_a_screenful():
    farmers = {f"G{i:055d}": {"best": 5, "sent": None, "state": "planted"} for i in range(50)}
    lines = status_lines({**SNAPSHOT, "farmers": farmers})
    assert len(lines) == 1 + MAX_ROWS + 1 and lines[-1] == "  … and 30 more farmers"
