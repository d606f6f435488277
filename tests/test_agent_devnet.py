"""The pooler agent end to end: the real agent process, the pool API over HTTP, the devnet, PostgreSQL.

Ledgers close every 0.1 s here (5 s of ledger time each), so a KALE block (60
ledgers) lasts about 6 s of wall time: several blocks fit in seconds.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from stellar_sdk import Keypair

from chain.kale import BLOCK_INTERVAL
from tests.fixtures.devnet import Devnet

ROOT = Path(__file__).resolve().parents[1]
CLOSE_INTERVAL = 0.1
LEDGER_SECONDS = 5  # the devnet's default close-time step
MARGIN = 2


@pytest.fixture(scope="module")
def devnet():
    """This module's own devnet with slower ledgers than the session's (blocks of ~6 s)."""
    state = Path(tempfile.mkdtemp(prefix="kalepool-agent-devnet-"))
    node = Devnet(state, close_interval=CLOSE_INTERVAL)
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(state, ignore_errors=True)


class AgentProcess:
    """`python -m gpu_miner.agent.cli --json` as a subprocess, its events parsed as they come."""

    def __init__(self, harness: Any, api_key: str, secret: Keypair, state_file: Path, *extra: str):
        args = [sys.executable, "-m", "gpu_miner.agent.cli", "--pool", harness.api_url,
                "--network", "devnet", "--rpc", harness.devnet.rpc_url, "--state-file", str(state_file),
                "--margin-ledgers", str(MARGIN), "--json", *extra]
        # one hashing thread leaves a core to the devnet and the pool on a 2-core machine
        env = {**os.environ, "KALEPOOL_POOLER_SECRET": secret.secret, "KALEPOOL_POOLER_API_KEY": api_key,
               "POCL_MAX_PTHREAD_COUNT": "1",
               "POCL_CPU_MAX_CU_COUNT": "1", "NUMBA_NUM_THREADS": "1"}
        self.stderr = open(state_file.with_suffix(".stderr"), "w")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.stderr,
                                        text=True)
        self.events: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            event = json.loads(line)
            self.events.append(event)
            self._queue.put(event)
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no such event within {timeout} s; last: {self.events[-5:]}") from None
            if event is None:
                raise AssertionError(f"agent exited ({self.process.wait()}): {self.events[-5:]}")
            if predicate(event):
                return event

    def finish(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self.stderr.close()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.finish(10)

    def of(self, name: str, **match: Any) -> list[dict]:
        return [e for e in self.events if e["event"] == name and all(e.get(k) == v for k, v in match.items())]


def saved_bests(state_file: Path, index: int) -> dict[str, dict]:
    """The best nonce per farmer that the agent's state file holds for block `index` (none yet: {})."""
    try:
        farmers = json.loads(state_file.read_text())["blocks"][str(index)]["farmers"]
    except (FileNotFoundError, KeyError):
        return {}
    return {farmer: work["best"] for farmer, work in farmers.items() if work.get("best")}


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not true within {timeout} s"
        time.sleep(0.05)


def last_safe_ledger(opened_ledger: int) -> int:
    """The last ledger closing before T + 300 when the block opened in `opened_ledger` (close time T)."""
    return opened_ledger + BLOCK_INTERVAL // LEDGER_SECONDS - 1


def opened_ledger(harness: Any, index: int) -> int:
    """The ledger whose close time is the block's timestamp (the block opened there)."""
    block = harness.client.block(index).value
    latest = harness.client.latest_ledger()
    return latest.sequence - (latest.close_time - block.timestamp) // LEDGER_SECONDS


def test_every_planted_farmer_is_worked_in_every_block_late_in_the_block(pool_harness, tmp_path):
    # When to submit is decided by gpu_miner.agent.policy and proven with a fake clock in
    # test_agent_policy.py and test_agent_decisions.py; here, on a real devnet under any load,
    # only outcomes are asserted.
    pooler = pool_harness.new_pooler()
    farmers = {pool_harness.new_farmer(pooler).address for _ in range(3)}
    pool_harness.wait_until_block_can_open()  # so the agent's first plant opens a whole new block
    agent = AgentProcess(pool_harness, pooler.api_key, Keypair.random(), tmp_path / "agent.json",
                         "--blocks", "3")
    assert agent.finish(timeout=120) == 0, agent.events[-5:]
    done = agent.of("block_done")
    assert len(done) == 3 and not agent.of("error", where="agent")
    for block in done:
        assert block["unworked"] == [] and block["worked"] == len(farmers), block
        index = block["block"]
        pails = pool_harness.client.pails([(f, index) for f in farmers])
        opened = opened_ledger(pool_harness, index)
        for farmer in farmers:
            pail = pails[(farmer, index)].value
            assert pail.zeros and pail.gap > (last_safe_ledger(opened) - opened) // 2, (index, farmer, pail)
        [report] = agent.of("reported", block=index)
        assert {a["farmer"] for a in report["accepted"]} == farmers and report["rejected"] == []


def test_a_killed_and_restarted_agent_submits_the_nonces_it_had_found(pool_harness, tmp_path):
    pooler = pool_harness.new_pooler()
    farmers = {pool_harness.new_farmer(pooler).address for _ in range(2)}
    secret, state_file = Keypair.random(), tmp_path / "agent.json"
    pool_harness.wait_until_block_can_open()
    first = AgentProcess(pool_harness, pooler.api_key, secret, state_file)
    planted = first.wait_for(lambda e: e["event"] == "planted" and len(e["planted"]) == len(farmers), 60)
    index = planted["block"]
    found = set()
    first.wait_for(lambda e: e["event"] == "improved" and e["block"] == index
                   and (found.add(e["farmer"]) or found == farmers), 30)
    wait_until(lambda: farmers <= set(saved_bests(state_file, index)), 30)
    first.kill()
    assert not first.of("submitted", block=index), "killed too late: the work was already sent"
    saved = saved_bests(state_file, index)
    # The block is over in ledger time, but on the devnet it stays open until the next plant.
    block = pool_harness.client.block(index).value
    while pool_harness.client.latest_ledger().close_time < block.timestamp + BLOCK_INTERVAL:
        time.sleep(0.05)

    second = AgentProcess(pool_harness, pooler.api_key, secret, state_file, "--blocks", "1")
    assert second.finish(timeout=60) == 0, second.events[-5:]
    assert index in second.of("started")[0]["restored"]
    for farmer in farmers:
        # The saved nonce is sent unless the restarted agent hashed on and found strictly more zeros.
        sent, best = second.of("submitted", block=index, farmer=farmer), saved[farmer]
        assert sent[0]["zeros"] > best["zeros"] or (sent[0]["nonce"], sent[0]["hash"]) == (best["nonce"], best["hash"])
        pail = pool_harness.client.pails([(farmer, index)])[(farmer, index)].value
        assert pail.zeros == max(work["zeros"] for work in sent)
    assert second.of("block_done", block=index)[0]["unworked"] == []
