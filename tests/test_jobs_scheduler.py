"""The scheduler: one leader through a PostgreSQL advisory lock; a standby takes over."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.leader import Leadership

ROOT = Path(__file__).resolve().parents[1]


def test_only_one_process_holds_the_leadership(postgres):
    first, second = Leadership(postgres), Leadership(postgres)
    try:
        assert first.try_acquire() and first.still_leader()
        assert not second.try_acquire() and not second.still_leader()
        first.release()  # the server frees the lock when that session ends, a moment later
        deadline = time.monotonic() + 5
        while not second.try_acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.still_leader()
    finally:
        first.release()
        second.release()


def start_scheduler(postgres, state_dir, log_path):
    env = {**os.environ, "DATABASE_URL": postgres, "KALEPOOL_STATE_DIR": str(state_dir),
           "KALEPOOL_RPC_URL": "http://127.0.0.1:9/rpc", "KALEPOOL_JOB_INTERVAL_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "scheduler"], env=env, cwd=ROOT,
                            stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)


def wait_for_line(path, text, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in Path(path).read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def test_a_standby_scheduler_takes_over_when_the_leader_dies(db, postgres, tmp_path):
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start_scheduler(postgres, tmp_path, logs[0])]
    try:
        assert wait_for_line(logs[0], "scheduler is the leader")
        processes.append(start_scheduler(postgres, tmp_path, logs[1]))
        assert wait_for_line(logs[1], "standing by")
        assert "is the leader" not in logs[1].read_text()
        processes[0].send_signal(signal.SIGKILL)
        assert wait_for_line(logs[1], "scheduler is the leader", timeout=60)
    finally:
        for process in processes:
            process.kill()
            process.wait()
