"""`manage.py bench devnet` runs end to end and prints its figures (the figures themselves are not asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_devnet_prints_throughput_and_simulate_latency():
    run = subprocess.run([sys.executable, str(ROOT / "manage.py"), "bench", "devnet", "--farmers", "4",
                          "--threads", "2", "--close-every", "0.1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "invocations/s" in run.stdout and "simulateTransaction: p50" in run.stdout
