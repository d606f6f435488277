"""Drive a devnet: run `manage.py devnet` as a child process, wait until its RPC answers, call it, stop it.

The one devnet controller, used by the tests, `manage.py up` and the benches. The pool never imports the
devnet: it starts it like any other program and then talks to it over HTTP, exactly as it talks to testnet
or mainnet.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from stellar_sdk import Asset, SorobanServer

MANAGE = Path(__file__).resolve().parents[1] / "manage.py"
_LISTENING = re.compile(rb"RPC http://[^\s:]+:(\d+)/rpc")
HTTP_POOL = 128  # benches fund and mint from up to 128 threads through one session


class DevnetError(RuntimeError):
    """The devnet did not come up, exited, or answered a call with an error."""


class LocalDevnet:
    """A devnet child process with its state in `state_dir`, driven over JSON-RPC and friendbot.

    Without `port` the devnet binds a free port itself and the controller reads it from the devnet's
    first log line (no race with other processes for a probed port); a restart keeps that port. `up`
    passes the port it keeps across runs. Other devnet options go as keywords (`temp_ttl=20` is
    `--temp-ttl 20`) or raw `extra_args`. The devnet's output goes to `log_path` (default
    `state_dir/devnet.log`).
    """

    def __init__(self, state_dir: Path, port: int | None = None, close_interval: float = 5.0,
                 ledger_seconds: int = 5, extra_args: tuple[str, ...] = (), log_path: Path | None = None,
                 **options):
        self.state_dir = Path(state_dir)
        self.port = port or 0
        self.close_interval = close_interval
        self.args = ["--close-interval", str(close_interval), "--ledger-seconds", str(ledger_seconds)]
        for name, value in options.items():
            if value is not None:
                self.args += [f"--{name.replace('_', '-')}", str(value)]
        self.args += list(extra_args)
        self.log_path = Path(log_path) if log_path else self.state_dir / "devnet.log"
        self.process: subprocess.Popen | None = None
        self.info: dict = {}
        self.http = _session()
        self._server: SorobanServer | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        """Base URL (friendbot lives under it)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC endpoint."""
        return f"{self.url}/rpc"

    @property
    def passphrase(self) -> str:
        """The network passphrase (from devnet_info, read at start)."""
        return self.info["passphrase"]

    def server(self) -> SorobanServer:
        """A stock stellar_sdk client on this devnet (one per run, so its connections are kept alive)."""
        if self._server is None:
            self._server = SorobanServer(self.rpc_url)
        return self._server

    def launch_args(self) -> list[str]:
        """`manage.py` arguments that run this devnet (a supervisor that runs them needs a fixed `port`)."""
        return ["devnet", "--port", str(self.port), "--state-dir", str(self.state_dir), *self.args]

    def start(self, timeout: float = 60.0) -> "LocalDevnet":
        """Start the process and return once getHealth answers; DevnetError (with the devnet's own
        last words when it exited) otherwise."""
        self._drop_connections()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen([sys.executable, str(MANAGE), *self.launch_args()],
                                            cwd=MANAGE.parent, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy(timeout)
        except DevnetError:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Return once getHealth answers (and devnet_info is read); DevnetError after `timeout` seconds
        or as soon as the process we started exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise DevnetError(f"devnet exited with status {self.process.returncode}: {self._last_words()}")
            if not self.port:
                self.port = self._reported_port()
            if self.port and self.healthy():
                self.info = self.call("devnet_info")
                return
            if time.monotonic() > deadline:
                raise DevnetError(f"devnet did not answer on {self.rpc_url} within {timeout:.0f} s "
                                  f"(log: {self.log_path})")
            time.sleep(0.05)

    def healthy(self) -> bool:
        """True when the RPC answers getHealth."""
        try:
            reply = self.http.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
                                   timeout=2)
            return reply.ok and "result" in reply.json()
        except (requests.RequestException, ValueError):
            return False

    def call(self, method: str, params: dict | None = None, timeout: float = 60.0):
        """One JSON-RPC call; returns its `result` or raises DevnetError with the error's code and message."""
        reply = self.http.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                               timeout=timeout).json()
        if "error" in reply:
            error = reply["error"]
            raise DevnetError(f"{method}: {error.get('message')} ({error.get('code')})")
        return reply["result"]

    def latest_ledger(self) -> int:
        """The sequence of the last closed ledger."""
        return self.call("getLatestLedger")["sequence"]

    def close_ledgers(self, n: int = 1, timeout: float = 60.0) -> int:
        """Close `n` ledgers now (applying what is pending); returns the latest ledger."""
        return self.call("devnet_closeLedgers", {"count": n}, timeout)["latestLedger"]

    def wait_ledgers(self, n: int = 1, timeout: float = 60.0) -> int:
        """Let `n` more ledgers close (closing them directly when closes are manual); returns the latest."""
        if not self.close_interval:
            return self.close_ledgers(n)
        target = self.latest_ledger() + n
        deadline = time.monotonic() + timeout
        while (latest := self.latest_ledger()) < target:
            if time.monotonic() > deadline:
                raise DevnetError(f"ledger {target} did not close within {timeout} s")
            time.sleep(min(self.close_interval, 0.05))
        return latest

    def fund(self, address: str) -> dict:
        """Friendbot: create `address` with 10,000 XLM."""
        reply = self.http.get(f"{self.url}/friendbot", params={"addr": address}, timeout=60)
        if not reply.ok:
            raise DevnetError(f"friendbot refused {address}: {reply.status_code} {reply.text[:200]}")
        return reply.json()

    def mint(self, address: str, amount: int) -> dict:
        """KALE faucet: `amount` stroops to `address` (which needs a KALE trustline)."""
        return self.call("devnet_mint", {"to": address, "amount": str(amount)})

    def fail_next(self, source: str, count: int = 1) -> dict:
        """Test-only: the next `count` transactions from `source` land on chain as failed (0 cancels)."""
        return self.call("devnet_failNext", {"source": source, "count": count})

    def kale_asset(self) -> Asset:
        """The KALE classic asset (code:issuer from devnet_info)."""
        code, issuer = self.info["kale_asset"].split(":")
        return Asset(code, issuer)

    def restart(self, timeout: float = 60.0) -> "LocalDevnet":
        """Stop and start again on the same port and state dir (the chain resumes at its last ledger)."""
        self.stop()
        return self.start(timeout)

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL) and drop pooled connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._drop_connections()

    def _drop_connections(self) -> None:
        """Forget kept-alive connections (and the cached client) of a previous run."""
        self.http.close()
        self.http = _session()
        if self._server is not None:
            self._server.close()
            self._server = None

    def _reported_port(self) -> int:
        """The port from the devnet's "RPC http://host:port/rpc" line of this run, or 0 before it is written."""
        match = _LISTENING.search(self._log_since_start())
        return int(match.group(1)) if match else 0

    def _last_words(self) -> str:
        """The last non-empty line this run wrote (click's `Error: ...`, a traceback's exception)."""
        lines = [line for line in self._log_since_start().decode(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else f"no output (log: {self.log_path})"

    def _log_since_start(self) -> bytes:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read()
        except OSError:
            return b""


def _session() -> requests.Session:
    """A keep-alive session sized for many threads."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=HTTP_POOL)
    session.mount("http://", adapter)
    return session
