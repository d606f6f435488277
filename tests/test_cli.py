"""manage.py: one CLI whose errors are one line and a non-zero exit."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=60)


def test_help_lists_the_commands():
    result = manage("--help")
    assert result.returncode == 0
    assert "bench" in result.stdout


def test_an_unknown_command_exits_non_zero():
    result = manage("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_pooler_without_its_required_options_names_the_missing_one():
    result = manage("pooler")
    assert result.returncode == 2
    assert "--pool" in result.stderr


def test_poolers_create_is_a_command_of_its_own_beside_the_agent():
    result = manage("poolers", "create", "--help")
    assert result.returncode == 0 and "--payout-address" in result.stdout


def test_up_rehearses_blocks_on_the_devnet_only():
    result = manage("up", "--network", "testnet", "--blocks", "2")
    assert result.returncode == 2
    assert "devnet only" in result.stderr
