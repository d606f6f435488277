"""Farming software nobody here wrote uses the devnet as it uses the real network: the JS SDK's
fundAddress, requestAirdrop and getContractMethods(farm) work, and a farming loop that measures
a block's age from the wall clock works the block on time (tests/js/farm_loop.mjs)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.devnet import Devnet

JS = Path(__file__).resolve().parent / "js"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "@stellar" / "stellar-sdk").exists(),
    reason="needs node and the JS SDK: run scripts/setup.sh")
WORK_AGE = 5


@pytest.fixture(scope="module")
def farm_loop(tmp_path_factory) -> dict:
    """The farming loop's report, run against a devnet whose ledger time is the wall clock."""
    node = Devnet(tmp_path_factory.mktemp("js"), close_interval=1, ledger_seconds=1)
    try:
        done = subprocess.run(["node", "farm_loop.mjs", node.rpc_url, node.info["farm_contract"], str(WORK_AGE)],
                              cwd=JS, capture_output=True, text=True, timeout=300)
    finally:
        node.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_js_sdk_funds_accounts_and_reads_the_farms_methods(farm_loop):
    assert farm_loop["fundAddress"] == "SUCCESS" and farm_loop["requestAirdrop"] is True
    assert {"plant", "work", "harvest", "upgrade", "pause", "unpause", "remove_block"} <= set(farm_loop["methods"])


def test_a_loop_timing_work_by_wall_clock_block_age_works_the_block_it_planted(farm_loop):
    assert farm_loop["gap"] >= 1 and farm_loop["indexAfterWork"] == farm_loop["index"]
    assert farm_loop["workWallAge"] >= WORK_AGE
    assert abs(farm_loop["workLedgerAge"] - farm_loop["workWallAge"]) <= 5  # ledger time is wall time
    assert farm_loop["workLedgerAge"] < 300  # inside the block, as on mainnet
