"""`manage.py up` and the commands beside it, as a new user meets them: one `up` per state
directory, every address printed at start, ports kept, taken ports and missing keyrings refused
in one line, commands beside `up` using its devnet, and no server left behind."""
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from config.up_state import PID_FILE, claim, record_rpc_url, release, running_pid, running_rpc_url
from db.cluster import PrivateCluster
from jobs.condition_log import ConditionLog

ROOT = Path(__file__).resolve().parents[1]


def manage(state_dir: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    environ = {**os.environ, "KALEPOOL_STATE_DIR": str(state_dir), "KALEPOOL_NETWORK": "devnet", **(env or {})}
    for name in ("DATABASE_URL", "KALEPOOL_RPC_URL"):
        if name not in (env or {}):
            environ.pop(name, None)
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def live_process():
    """Some other live process (a pid that is running)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def listening_port():
    """A port another server is listening on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_a_second_up_on_the_same_state_directory_is_refused_with_the_running_pid(tmp_path, live_process):
    (tmp_path / PID_FILE).parent.mkdir(parents=True)
    (tmp_path / PID_FILE).write_text(f"{live_process.pid}\n")
    result = manage(tmp_path, "up")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"Error: already running, pid {live_process.pid}"]
    assert not (tmp_path / "postgres").exists() and not (tmp_path / "devnet").exists()  # nothing was started


def test_a_stale_up_pid_file_does_not_count_as_running(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    (tmp_path / PID_FILE).parent.mkdir(parents=True)
    (tmp_path / PID_FILE).write_text(f"{finished.pid}\n")
    assert running_pid(tmp_path) is None
    claim(tmp_path)
    assert running_pid(tmp_path) == os.getpid()
    release(tmp_path)
    assert not (tmp_path / PID_FILE).exists()


def test_commands_beside_a_running_up_use_its_devnet_rpc_url(tmp_path, monkeypatch, live_process):
    from indexer.cli import _settings

    monkeypatch.setenv("KALEPOOL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("KALEPOOL_NETWORK", "devnet")
    monkeypatch.delenv("KALEPOOL_RPC_URL", raising=False)
    default = _settings().rpc_url
    (tmp_path / PID_FILE).parent.mkdir(parents=True)
    (tmp_path / PID_FILE).write_text(f"{live_process.pid}\n")
    record_rpc_url(tmp_path, "http://127.0.0.1:45678/rpc")
    assert running_rpc_url(tmp_path) == "http://127.0.0.1:45678/rpc"
    assert _settings().rpc_url == "http://127.0.0.1:45678/rpc"
    monkeypatch.setenv("KALEPOOL_RPC_URL", "http://127.0.0.1:45679/rpc")  # an explicit RPC still wins
    assert _settings().rpc_url == "http://127.0.0.1:45679/rpc"
    monkeypatch.delenv("KALEPOOL_RPC_URL")
    live_process.kill()
    live_process.wait()
    assert _settings().rpc_url == default  # `up` is gone: back to the profile's


def test_up_keeps_its_ports_across_restarts(tmp_path):
    from local.up import _ports

    first = _ports(tmp_path / "up.json", None)
    assert _ports(tmp_path / "up.json", None) == first


def test_up_api_port_held_by_another_server_fails_in_one_line(tmp_path, listening_port):
    result = manage(tmp_path, "up", "--api-port", str(listening_port))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Error: --api-port {listening_port}: another server is listening on it"]
    assert running_pid(tmp_path) is None


def test_serve_on_a_used_port_fails_in_one_line(tmp_path, listening_port):
    result = manage(tmp_path, "serve", "--port", str(listening_port))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Error: port {listening_port} on 127.0.0.1 is already in use: pick another with --port"]


def test_up_on_testnet_without_a_real_keyring_fails_at_once_with_the_keyring_message(tmp_path):
    result = manage(tmp_path, "up", "--network", "testnet",
                    env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "KALEPOOL_ALLOW_FILE_KEYRING": ""})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "testnet needs a real keyring backend" in lines[0], result.stderr
    assert not (tmp_path / "postgres").exists() and running_pid(tmp_path) is None


def test_db_status_does_not_leave_the_private_database_running():
    state = Path(tempfile.mkdtemp(prefix="kalepool-up-cli-"))
    os.chmod(state, 0o755)  # the postgres user must reach the data dir when we are root
    cluster = PrivateCluster(state / "postgres")
    try:
        result = manage(state, "db", "status", timeout=300)
        assert result.returncode == 0, result.stderr
        assert "applied" in result.stdout
        assert not cluster.running()
    finally:
        cluster.stop()  # should there be one left, not beyond this test
        shutil.rmtree(state, ignore_errors=True)


def test_a_persisting_condition_is_logged_once_then_on_change_and_again_after_it_cleared(caplog):
    conditions = ConditionLog(logging.getLogger("test.conditions"))
    with caplog.at_level(logging.INFO, logger="test.conditions"):
        for _ in range(5):
            conditions.log(logging.ERROR, ("settle", 7), "farmer %s: wallet holds %s", 7, 10)
        conditions.log(logging.ERROR, ("settle", 8), "farmer %s: wallet holds %s", 8, 10)  # another subject
        conditions.log(logging.ERROR, ("settle", 7), "farmer %s: wallet holds %s", 7, 11)  # changed
        conditions.clear(("settle", 7))
        conditions.log(logging.ERROR, ("settle", 7), "farmer %s: wallet holds %s", 7, 11)  # back after clearing
    assert [record.getMessage() for record in caplog.records] == [
        "farmer 7: wallet holds 10", "farmer 8: wallet holds 10", "farmer 7: wallet holds 11",
        "farmer 7: wallet holds 11"]


@pytest.mark.slow
def test_up_prints_where_everything_is_and_ctrl_c_says_what_stopped_and_how_to_resume(create_database, tmp_path):
    env = {**os.environ, "DATABASE_URL": create_database(), "KALEPOOL_STATE_DIR": str(tmp_path),
           "KALEPOOL_NETWORK": "devnet"}
    env.pop("KALEPOOL_RPC_URL", None)
    process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "up", "--farmers", "1"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 180
    while not any(line.startswith("stop:") for line in lines) and process.poll() is None:
        assert time.monotonic() < deadline, "".join(lines)[-3000:]
        time.sleep(0.2)
    try:
        banner = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines if ":" in line}
        assert banner["API"].startswith("http://127.0.0.1:") and "/api/v1" in banner["API"]
        assert banner["RPC"] == running_rpc_url(tmp_path)  # what `audit` beside it will use
        assert banner["demo tokens"].startswith(str(tmp_path.resolve() / "demo.json"))
        assert "Ctrl-C" in banner["stop"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
        reader.join(timeout=10)
    output = "".join(lines)
    assert process.returncode == 0, output[-3000:]
    stopped = [line for line in lines if line.startswith("stopped ")]
    assert stopped and "devnet" in stopped[-1] and "api" in stopped[-1], output[-3000:]
    assert "manage.py up` again to resume" in stopped[-1]
    assert running_pid(tmp_path) is None and running_rpc_url(tmp_path) is None
