"""Plant requests are answered within a bounded time whatever the RPC does; the pooler polls."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from config.ports import free_port
from gpu_miner.agent.pool_client import PoolClient
from tests.fixtures.pool import serve_pool
from tests.served_api import served_api

RPC_DELAY_SECONDS = 1.5  # each RPC call; a planting makes a dozen, so it outlasts the 10 s answer bound


@pytest.fixture
def slow_chain(devnet_factory, postgres, db, tmp_path):
    """A pool harness on a devnet with 60-second blocks, slow enough for a slow RPC to plant in."""
    devnet = devnet_factory(close_interval=1.0)
    with serve_pool(devnet, postgres, tmp_path / "state") as harness:
        yield harness


@pytest.fixture
def slow_rpc(slow_chain):
    """A proxy before the devnet's RPC that holds every call RPC_DELAY_SECONDS."""

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(RPC_DELAY_SECONDS)
            answer = requests.post(slow_chain.devnet.rpc_url, data=body, headers={"Content-Type": "application/json"},
                                   timeout=60)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/rpc"
    server.shutdown()


def test_a_slow_rpc_gets_a_prompt_202_and_the_planting_goes_on_until_the_pooler_polls_its_outcome(
        slow_chain, postgres, slow_rpc):
    pooler = slow_chain.new_pooler()
    farmer = slow_chain.new_farmer(pooler)
    slow_chain.wait_until_block_can_open(timeout=120)
    with served_api(postgres, slow_chain.settings.state_dir, rpc_url=slow_rpc) as base:
        headers = {"Authorization": f"Bearer {pooler.api_key}"}
        first = requests.post(f"{base}/pooler/plant-request", json={}, headers=headers, timeout=60)
        assert first.status_code == 202, first.text
        assert first.headers["Location"] == first.json()["poll"] and int(first.headers["Retry-After"]) >= 1
        again = requests.post(f"{base}/pooler/plant-request", json={}, headers=headers, timeout=60)
        assert again.status_code == 202 and again.json()["poll"] == first.json()["poll"]  # joins, starts nothing
        answer = PoolClient(base.removesuffix("/api/v1"), pooler.api_key).plant_request(timeout=300)
    assert [p.address for p in answer.planted] == [farmer.address], (answer.failed, answer.pending, answer.block)


def test_polling_another_poolers_plant_request_is_a_404(pool_harness, postgres, slow_rpc, tmp_path):
    owner, other = pool_harness.new_pooler(), pool_harness.new_pooler()
    with served_api(postgres, pool_harness.settings.state_dir, rpc_url=slow_rpc) as base:
        from db.models import PlantRequest

        requests.post(f"{base}/pooler/plant-request", json={}, timeout=60,
                      headers={"Authorization": f"Bearer {owner.api_key}"})
        request_id = PlantRequest.get(PlantRequest.pooler == owner.id).id
        mine = requests.get(f"{base}/pooler/plant-requests/{request_id}", timeout=60,
                            headers={"Authorization": f"Bearer {owner.api_key}"})
        stranger = requests.get(f"{base}/pooler/plant-requests/{request_id}", timeout=60,
                                headers={"Authorization": f"Bearer {other.api_key}"})
        huge = requests.get(f"{base}/pooler/plant-requests/{2**70}", timeout=60,
                            headers={"Authorization": f"Bearer {owner.api_key}"})
    assert mine.status_code in (200, 202) and stranger.status_code == 404 and huge.status_code == 404
