"""`pooler` (gpu_miner.agent.cli): one-line errors for bad input, retries with backoff when servers are down."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from stellar_sdk import Keypair

from gpu_miner.agent.cli import pooler_agent

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = "http://127.0.0.1:9"


def run_cli(*args: str, secret: str | None = None):
    env = {"KALEPOOL_POOLER_SECRET": secret or "", "KALEPOOL_POOLER_API_KEY": "kpp_x"}
    return CliRunner().invoke(pooler_agent, list(args), env=env)


def test_without_a_secret_it_says_how_to_give_one():
    result = run_cli("--pool", UNREACHABLE)
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: give --secret-file PATH or set KALEPOOL_POOLER_SECRET "
                                     "(the pooler's S... key)")


def test_a_bad_secret_file_is_refused_without_echoing_it(tmp_path):
    path = tmp_path / "secret"
    path.write_text("SNOTAREALKEY-but-private\n")
    path.chmod(0o600)
    result = run_cli("--pool", UNREACHABLE, "--secret-file", str(path))
    assert result.exit_code == 1
    assert "does not hold a valid Stellar secret key" in result.output
    assert "SNOTAREALKEY" not in result.output


def test_a_bad_pool_url_is_one_line():
    result = run_cli("--pool", "ftp://pool", secret=Keypair.random().secret)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "pool URL must be http(s)" in result.output


def test_friendbot_is_refused_on_mainnet():
    result = run_cli("--pool", UNREACHABLE, "--network", "mainnet", "--fund-with-friendbot",
                     secret=Keypair.random().secret)
    assert result.exit_code == 1 and "mainnet has no friendbot" in result.output


def agent_process(tmp_path: Path, pool: str, rpc: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "gpu_miner.agent.cli", "--pool", pool, "--rpc", rpc,
            "--network", "devnet", "--state-file", str(tmp_path / "state.json"), "--json", "--device", "cpu"]
    env = {**os.environ, "KALEPOOL_POOLER_SECRET": Keypair.random().secret, "KALEPOOL_POOLER_API_KEY": "kpp_x",
           "NUMBA_NUM_THREADS": "1"}
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def errors_then_stop(process: subprocess.Popen, where: str, count: int = 3) -> tuple[int, list[dict], str]:
    """Read events until `count` errors from `where`, then SIGTERM; (exit code, events, stderr)."""
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if len([e for e in events if e["event"] == "error" and e["where"] == where]) == count:
            break
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return process.returncode, events + [json.loads(line) for line in out.splitlines()], err


def test_an_unreachable_rpc_is_retried_with_growing_delays(tmp_path):
    # stellar-sdk's HTTP client retries each call itself for ~3 s before the agent sees the failure
    code, events, stderr = errors_then_stop(agent_process(tmp_path, UNREACHABLE, f"{UNREACHABLE}/rpc"), "rpc", 2)
    errors = [e for e in events if e["event"] == "error"]
    assert {e["where"] for e in errors} == {"rpc"} and "unreachable" in errors[0]["message"]
    assert [e["retry_in"] for e in errors[:2]] == [0.5, 1.0]
    assert (code, events[-1]["event"]) == (0, "stopped"), stderr


def test_an_unreachable_pool_is_retried_with_growing_delays(tmp_path, devnet):
    code, events, stderr = errors_then_stop(agent_process(tmp_path, UNREACHABLE, devnet.rpc_url), "pool")
    errors = [e for e in events if e["event"] == "error"]
    assert {e["where"] for e in errors} == {"pool"} and "unreachable" in errors[0]["message"]
    assert [e["retry_in"] for e in errors[:3]] == [0.5, 1.0, 2.0]
    assert (code, events[-1]["event"]) == (0, "stopped"), stderr


def test_the_api_key_is_not_a_command_line_option():
    result = CliRunner().invoke(pooler_agent, ["--pool", UNREACHABLE, "--api-key", "kpp_visible"])
    assert result.exit_code == 2 and "No such option: --api-key" in result.output


def test_without_an_api_key_it_says_how_to_give_one():
    result = CliRunner().invoke(pooler_agent, ["--pool", UNREACHABLE], env={"KALEPOOL_POOLER_API_KEY": ""})
    assert result.exit_code == 1
    assert "set KALEPOOL_POOLER_API_KEY or give --api-key-file PATH (mode 600)" in result.output


def test_an_api_key_file_other_users_can_read_is_refused_without_echoing_it(tmp_path):
    path = tmp_path / "api-key"
    path.write_text("kpp_secret_value\n")
    path.chmod(0o644)
    result = CliRunner().invoke(pooler_agent, ["--pool", UNREACHABLE, "--api-key-file", str(path)],
                                env={"KALEPOOL_POOLER_API_KEY": ""})
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "open to other users (mode 644); chmod 600" in result.output and "kpp_secret" not in result.output


def test_a_private_api_key_file_is_accepted(tmp_path):
    path = tmp_path / "api-key"
    path.write_text("kpp_secret_value\n")
    path.chmod(0o600)
    result = CliRunner().invoke(pooler_agent, ["--pool", UNREACHABLE, "--api-key-file", str(path)],
                                env={"KALEPOOL_POOLER_API_KEY": "", "KALEPOOL_POOLER_SECRET": ""})
    assert result.exit_code == 1 and "give --secret-file PATH" in result.output  # past the key, at the secret


def test_up_hands_an_agent_its_api_key_in_the_environment_not_the_command_line(tmp_path):
    from config import load_settings
    from local.up import _agent

    child = _agent("pooler-1", "http://127.0.0.1:1", "kpp_secret_value", load_settings(environ={}), "cpu",
                   tmp_path, {"KALEPOOL_POOLER_SECRET": "S..."})
    assert not any("kpp_" in arg for arg in child.args)
    assert child.env["KALEPOOL_POOLER_API_KEY"] == "kpp_secret_value"
