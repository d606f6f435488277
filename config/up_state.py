"""What a running `manage.py up` shares through its state directory: its pid, so a second `up`
on the same directory is refused, and its devnet's RPC URL, so commands run beside it use that
devnet instead of the profile's default."""
from __future__ import annotations

import os
from pathlib import Path

PID_FILE = Path("run") / "up.pid"
RPC_FILE = Path("run") / "up.rpc_url"


class AlreadyRunning(RuntimeError):
    """Another `up` holds this state directory; the message names its pid."""


def running_pid(state_dir: str | Path) -> int | None:
    """The pid of the `up` running on `state_dir`, or None (no pid file, or a stale one)."""
    try:
        pid = int((Path(state_dir) / PID_FILE).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):  # no file, garbage, or no such process
        return None
    return pid


def claim(state_dir: str | Path) -> None:
    """Record this process as the state directory's `up`; AlreadyRunning if a live one holds it."""
    path = Path(state_dir) / PID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = running_pid(state_dir)
    if pid is not None and pid != os.getpid():
        raise AlreadyRunning(f"already running, pid {pid}")
    path.write_text(f"{os.getpid()}\n")


def release(state_dir: str | Path) -> None:
    """Forget this process's claim and its RPC URL (only if the claim is still ours)."""
    if running_pid(state_dir) == os.getpid():
        (Path(state_dir) / RPC_FILE).unlink(missing_ok=True)
        (Path(state_dir) / PID_FILE).unlink(missing_ok=True)


def record_rpc_url(state_dir: str | Path, url: str) -> None:
    """Tell commands run beside this `up` where its devnet answers."""
    (Path(state_dir) / RPC_FILE).write_text(url + "\n")


def running_rpc_url(state_dir: str | Path) -> str | None:
    """The devnet RPC URL of the `up` running on `state_dir`, or None when none runs."""
    path = Path(state_dir) / RPC_FILE
    if running_pid(state_dir) is None or not path.exists():
        return None
    return path.read_text().strip() or None
