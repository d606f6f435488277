"""Rate limits hold across gunicorn workers and serve processes, and apply to the real client."""
from __future__ import annotations

import requests

from tests.served_api import served_api


def _statuses(urls: list[str], count: int, headers: dict[str, str] | None = None) -> list[int]:
    """`count` requests spread over `urls`, each on a new connection (so over every worker)."""
    return [requests.get(f"{urls[n % len(urls)]}/info", headers={"Connection": "close", **(headers or {})},
                         timeout=30).status_code for n in range(count)]


def test_the_limit_is_shared_by_every_worker_of_two_serve_processes(postgres, db, tmp_path):
    limit = {"KALEPOOL_API_RATE_LIMIT_PER_MINUTE": "30"}
    with served_api(postgres, tmp_path / "a", env=limit) as first, \
            served_api(postgres, tmp_path / "b", env=limit) as second:
        statuses = _statuses([first, second], 60)
    allowed = statuses.count(200)
    # 30 a minute in all (less the two readiness probes); buckets per worker or process would allow all 60
    assert 25 <= allowed <= 40 and statuses.count(429) == 60 - allowed


def test_a_client_cannot_escape_the_limit_by_forging_x_forwarded_for(postgres, db, tmp_path):
    with served_api(postgres, tmp_path / "state", env={"KALEPOOL_API_RATE_LIMIT_PER_MINUTE": "5"}) as base:
        statuses = [requests.get(f"{base}/info", headers={"X-Forwarded-For": f"10.0.0.{n}"}, timeout=30).status_code
                    for n in range(10)]
    assert statuses.count(429) >= 4


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(postgres, db, tmp_path):
    env = {"KALEPOOL_API_RATE_LIMIT_PER_MINUTE": "5", "KALEPOOL_API_TRUSTED_PROXY_HOPS": "1"}
    with served_api(postgres, tmp_path / "state", env=env) as base:
        flooder = _statuses([base], 10, {"X-Forwarded-For": "198.51.100.7"})
        other = _statuses([base], 3, {"X-Forwarded-For": "203.0.113.9"})
    assert flooder.count(429) >= 4 and other == [200] * 3
