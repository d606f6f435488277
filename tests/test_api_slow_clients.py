"""Slow clients cannot take the served API down: the front reads requests whole, with deadlines."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from config.ports import free_port
from tests.served_api import ROOT, served_api


def _trickling(port: int) -> socket.socket:
    """A connection that has started a request head and will send the rest very slowly."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.sendall(b"GET /api/v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return connection


@pytest.fixture
def served(postgres, db, tmp_path):
    with served_api(postgres, tmp_path / "state", env={"KALEPOOL_API_HEADER_TIMEOUT_SECONDS": "60"}) as base:
        yield base


def test_fifty_trickling_connections_leave_every_probe_answered(served):
    port = int(served.split(":")[2].split("/")[0])
    slow = [_trickling(port) for _ in range(50)]
    try:
        answers = []
        for _ in range(20):
            for connection in slow:
                connection.sendall(b"X-Slow: 1\r\n")  # still mid-head: a blocking worker would be held
            answers.append(requests.get(f"{served}/info", timeout=30).status_code)
        assert answers == [200] * 20
    finally:
        for connection in slow:
            connection.close()


def test_a_request_head_not_finished_in_time_is_answered_408_and_closed(postgres, db, tmp_path):
    with served_api(postgres, tmp_path / "state", env={"KALEPOOL_API_HEADER_TIMEOUT_SECONDS": "1"}) as base:
        connection = _trickling(int(base.split(":")[2].split("/")[0]))
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in answer


def test_keep_alive_clients_are_served_several_requests_on_one_connection(served):
    with requests.Session() as session:
        answers = [session.get(f"{served}/info", timeout=30) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert answers[0].headers["Connection"] == "keep-alive"


def test_a_body_over_the_limit_is_refused_413_before_any_worker_reads_it(served):
    response = requests.post(f"{served}/farmers", data=b"x" * (1_048_576 + 1), timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_killing_serve_outright_takes_its_gunicorn_workers_with_it(postgres, db, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": postgres, "KALEPOOL_STATE_DIR": str(tmp_path), "KALEPOOL_NETWORK": "devnet"}
    serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=10)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    gunicorn = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(serve.pid)], capture_output=True,
                                                    text=True).stdout.split()]
    assert gunicorn
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    deadline = time.monotonic() + 60
    while any(os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z"
              for pid in gunicorn):
        assert time.monotonic() < deadline, "gunicorn outlived serve"
        time.sleep(0.2)
