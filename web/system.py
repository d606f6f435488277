"""Endpoints about the service itself: health, network info, the OpenAPI description, metrics."""
from __future__ import annotations

import requests
from flask import Blueprint, Response, jsonify

from chain.tolerance import skipped_total

from db.connection import database
from web import __version__
from web.api import operation
from web.errors import RETRY_AFTER_SECONDS
from web.metrics import CONTENT_TYPE, exposition
from web.openapi import openapi_spec
from web.services import services

blueprint = Blueprint("system", __name__)
TAG = "system"
PROBE_TIMEOUT_SECONDS = 3.0


def _rpc(rpc_url: str, method: str) -> dict:
    """One JSON-RPC call, no retries: a health probe must answer quickly."""
    response = requests.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method},
                             timeout=PROBE_TIMEOUT_SECONDS)
    return response.json()["result"]


def _network_versions(rpc_url: str) -> dict:
    """The network's protocol version (getNetwork) and the RPC's version (getVersionInfo); an
    RPC that does not answer one of them leaves its field null (still healthy)."""
    versions: dict = {"protocol_version": None, "rpc_version": None}
    try:
        versions["protocol_version"] = int(_rpc(rpc_url, "getNetwork")["protocolVersion"])
        versions["rpc_version"] = str(_rpc(rpc_url, "getVersionInfo")["version"])
    except Exception:  # optional facts: a missing method or field is not an outage
        pass
    return versions


@operation(blueprint, "GET", "/health", "Whether the database and the Stellar RPC are reachable", tag=TAG,
           responses={503: "the database or the RPC is unreachable"}, response={200: "Health", 503: "Health"})
def health() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    checks = {}
    try:
        database.execute_sql("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver failure means unhealthy, never a 500
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        rpc_url = services().settings.rpc_url
        checks["latest_ledger"] = int(_rpc(rpc_url, "getLatestLedger")["sequence"])
        checks["rpc"] = "ok"
        checks.update(_network_versions(rpc_url))
    except Exception as exc:  # an RPC down, refusing or answering garbage is all "unreachable"
        checks["rpc"] = f"unreachable: {type(exc).__name__}"
    checks["xdr_skipped"] = skipped_total()  # items this process met with arms newer than its XDR
    healthy = checks["database"] == "ok" and checks["rpc"] == "ok"
    body = jsonify({"status": "ok" if healthy else "degraded", **checks})
    return (body, 200) if healthy else (body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})


@operation(blueprint, "GET", "/info", "Network, contract ids, pool terms and version", tag=TAG, response="Info")
def info() -> Response:
    settings = services().settings
    network = settings.network
    return jsonify({
        "version": __version__,
        "network": network.name,
        "passphrase": network.passphrase,
        "farm_contract": network.farm_contract,
        "kale_asset": network.kale_asset,
        "kale_sac": network.kale_sac,
        "pooler_share_bps": settings.pooler_share_bps,
        "min_account_xlm_stroops": settings.min_account_xlm_stroops,
        "max_harvest_interval_blocks": settings.max_harvest_interval_blocks,
        "default_harvest_interval_blocks": settings.default_harvest_interval_blocks,
    })


@operation(blueprint, "GET", "/openapi.json", "This API's OpenAPI 3.1 description", tag=TAG, response="OpenApiDocument")
def openapi() -> Response:
    return jsonify(openapi_spec(services().schemas))


@operation(blueprint, "GET", "/metrics", "Prometheus metrics", tag=TAG, produces="text/plain")
def metrics() -> Response:
    return Response(exposition(), mimetype=None, content_type=CONTENT_TYPE)
