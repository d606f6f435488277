"""Run the pool's processes as children, restart any that dies, stop them all in order.

Each child's output goes to `<log_dir>/<name>.log` and its pid to `<run_dir>/<name>.pid`,
so an operator (or a fault-injection test) can see and kill any of them; the supervisor
notices within a second and starts it again, with a growing pause if it keeps dying (the
pause starts over once a child has run for a minute). Each exit is logged with what its
status means.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MANAGE = Path(__file__).resolve().parents[1] / "manage.py"
HEALTHY_AFTER_SECONDS = 60.0  # a child that ran this long starts its restart pauses over

# What the pool's own exit statuses mean (see jobs/scheduler.py); anything else is "failed".
EXIT_MEANINGS = {0: "stopped", 1: "failed", 2: "refused its configuration", 3: "lost leadership"}


@dataclass
class Child:
    """One supervised process: `manage.py <args>` (or `command` as given) with extra environment;
    `stop_signal` asks it to stop, and `stop_last` keeps it running until the others have stopped."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    stop_signal: int = signal.SIGTERM
    stop_last: bool = False
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Starts, watches and stops children; `restart=False` turns watching off."""

    def __init__(self, log_dir: Path, run_dir: Path, base_env: dict[str, str]):
        self.log_dir = Path(log_dir)
        self.run_dir = Path(run_dir)
        self.base_env = base_env
        self.children: dict[str, Child] = {}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)

    def add(self, child: Child) -> Child:
        """Start `child` now and watch it from then on."""
        self.children[child.name] = child
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        output = open(self.log_dir / f"{child.name}.log", "ab")
        env = {**os.environ, **self.base_env, **child.env, "PYTHONUNBUFFERED": "1"}
        argv = child.command or [sys.executable, str(MANAGE), *child.args]
        child.process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        child.started_at = time.monotonic()
        output.close()
        (self.run_dir / f"{child.name}.pid").write_text(f"{child.process.pid}\n")
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def watch(self) -> list[str]:
        """Restart children that died (backing off while one keeps dying); returns their names."""
        restarted = []
        now = time.monotonic()
        for child in self.children.values():
            if child.alive():
                continue
            if child.next_start == 0.0:
                code = child.process.returncode if child.process else None
                if now - child.started_at >= HEALTHY_AFTER_SECONDS:
                    child.restarts = 0
                pause = min(2 ** min(child.restarts, 5) * 0.5, 15.0)
                child.next_start = now + pause
                log.warning("%s %s; restarting in %.1fs", child.name, describe_exit(code), pause)
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                self._start(child)
                restarted.append(child.name)
        return restarted

    def stop_all(self, timeout: float = 15.0) -> None:
        """Ask every child to stop (last started first; `stop_last` ones after the rest have
        stopped), then SIGKILL whatever is left after `timeout` seconds."""
        children = list(reversed(list(self.children.values())))
        for group in ([c for c in children if not c.stop_last], [c for c in children if c.stop_last]):
            for child in group:
                if child.alive():
                    _signal_group(child, child.stop_signal)
            deadline = time.monotonic() + timeout
            for child in group:
                if child.process is None:
                    continue
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal_group(child, signal.SIGKILL)
                    child.process.wait()
                (self.run_dir / f"{child.name}.pid").unlink(missing_ok=True)


def describe_exit(code: int | None) -> str:
    """An exit status in words: 'exited 3 (lost leadership)', 'killed by SIGKILL'."""
    if code is None:
        return "did not start"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited {code} ({EXIT_MEANINGS.get(code, 'failed')})"


def _signal_group(child: Child, signum: int) -> None:
    try:
        os.killpg(child.process.pid, signum)
    except ProcessLookupError:
        pass
