"""Prometheus metrics: request counts and latencies per endpoint, and the pool's state from the database.

Under `manage.py serve` PROMETHEUS_MULTIPROC_DIR is set, so every gunicorn
worker's counters land in shared files and a scrape of any worker sums them all.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from db.connection import database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_process_registry = CollectorRegistry()
REQUESTS = Counter("kalepool_api_requests", "API requests answered", ["method", "endpoint", "status"],
                   registry=_process_registry)
LATENCY = Histogram("kalepool_api_request_duration_seconds", "API request handling time", ["endpoint"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
                    registry=_process_registry)


class PoolCollector(Collector):
    """Gauges read from the database at scrape time (the same from whichever worker answers)."""

    def collect(self):
        farmers = GaugeMetricFamily("kalepool_farmers", "Farmers by status", labels=["status"])
        for status, count in database.execute_sql("SELECT status, count(*) FROM farmers GROUP BY status"):
            farmers.add_metric([status], count)
        yield farmers
        poolers = GaugeMetricFamily("kalepool_poolers_active", "Active poolers")
        poolers.add_metric([], database.execute_sql("SELECT count(*) FROM poolers WHERE active").fetchone()[0])
        yield poolers
        intents = GaugeMetricFamily("kalepool_tx_intents", "Outbox transactions by action and status",
                                    labels=["action", "status"])
        for action, status, count in database.execute_sql(
                "SELECT action, status, count(*) FROM tx_intents GROUP BY action, status"):
            intents.add_metric([action, status], count)
        yield intents
        discrepancies = GaugeMetricFamily("kalepool_discrepancies_open",
                                          "Unresolved discrepancies between pool records and the chain (alarm > 0)",
                                          labels=["kind"])
        for kind, count in database.execute_sql(
                "SELECT kind, count(*) FROM discrepancies WHERE resolved_at IS NULL GROUP BY kind"):
            discrepancies.add_metric([kind], count)
        yield discrepancies


def observe(method: str, endpoint: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    REQUESTS.labels(method, endpoint, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)


def exposition() -> bytes:
    """The text exposition of every metric."""
    if os.environ.get(MULTIPROC_ENV):
        requests_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests_registry)
    else:
        requests_registry = _process_registry
    pool_registry = CollectorRegistry()
    pool_registry.register(PoolCollector())
    return generate_latest(requests_registry) + generate_latest(pool_registry)
