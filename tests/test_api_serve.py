"""`manage.py serve`: gunicorn workers serving the API over HTTP; refusing a bad keyring up front."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from config.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_serve_runs_gunicorn_workers_that_answer_and_share_metrics(postgres, db, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": postgres, "KALEPOOL_STATE_DIR": str(tmp_path), "KALEPOOL_NETWORK": "devnet"}
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=20)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, server.stdout.read().decode()
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["network"] == "devnet"
        for _ in range(10):
            requests.get(f"http://127.0.0.1:{port}/api/v1/poolers", timeout=5)
        metrics = requests.get(f"http://127.0.0.1:{port}/api/v1/metrics", timeout=5).text
        line = next(line for line in metrics.splitlines()
                    if line.startswith("kalepool_api_requests_total") and 'endpoint="/api/v1/poolers"' in line)
        assert float(line.split()[-1]) == 10.0  # summed over both workers
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_serve_refuses_a_public_network_without_a_real_keyring(postgres, tmp_path):
    env = {**os.environ, "DATABASE_URL": postgres, "KALEPOOL_STATE_DIR": str(tmp_path), "KALEPOOL_NETWORK": "testnet"}
    env.pop("KALEPOOL_ALLOW_FILE_KEYRING", None)
    result = subprocess.run([sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "KALEPOOL_ALLOW_FILE_KEYRING" in result.stderr and len(result.stderr.strip().splitlines()) == 1
