"""Run `manage.py devnet` as a child process and wait until its RPC answers.

The pool never imports the devnet: it starts it like any other program and then
talks to it over HTTP, exactly as it talks to testnet or mainnet.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from config.ports import free_port

MANAGE = Path(__file__).resolve().parents[1] / "manage.py"


class LocalDevnet:
    """A devnet child process with its state in `state_dir`."""

    def __init__(self, state_dir: Path, port: int | None = None, close_interval: float = 5.0,
                 ledger_seconds: int = 5, extra_args: tuple[str, ...] = (), log_path: Path | None = None):
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.args = ["--close-interval", str(close_interval), "--ledger-seconds", str(ledger_seconds),
                     *extra_args]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Base URL (friendbot lives under it)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC endpoint."""
        return f"{self.url}/rpc"

    def launch_args(self) -> list[str]:
        """`manage.py` arguments that run this devnet."""
        return ["devnet", "--port", str(self.port), "--state-dir", str(self.state_dir), *self.args]

    def start(self, timeout: float = 60.0) -> "LocalDevnet":
        """Start the process and return once getHealth answers."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen([sys.executable, str(MANAGE), *self.launch_args()],
                                        stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy(timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Return once getHealth answers; RuntimeError after `timeout` seconds or if it exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"devnet exited with status {self.process.returncode}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(f"devnet did not answer on {self.rpc_url} within {timeout:.0f}s")

    def healthy(self) -> bool:
        """True when the RPC answers getHealth."""
        try:
            response = requests.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
                                     timeout=2)
            return response.ok and "result" in response.json()
        except (requests.RequestException, ValueError):
            return False

    def call(self, method: str, params: dict | None = None) -> dict:
        """One JSON-RPC call (for the devnet-only methods such as devnet_mint)."""
        response = requests.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                     "params": params}, timeout=30)
        body = response.json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error'].get('message')}")
        return body["result"]

    def fund(self, address: str) -> None:
        """Create and fund `address` with XLM through friendbot."""
        response = requests.get(f"{self.url}/friendbot", params={"addr": address}, timeout=30)
        if not response.ok:
            raise RuntimeError(f"friendbot refused {address}: {response.text[:200]}")

    def mint(self, address: str, amount: int) -> None:
        """Mint `amount` stroops of KALE to `address` with the devnet faucet."""
        self.call("devnet_mint", {"to": address, "amount": str(amount)})

    def fail_next(self, source: str, count: int = 1) -> None:
        """Test-only: the next `count` transactions from `source` land on chain as failed (0 cancels)."""
        self.call("devnet_failNext", {"source": source, "count": count})

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
