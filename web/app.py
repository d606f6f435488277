"""The Flask application factory: `create_app()` is what gunicorn serves (one app per worker)."""
from __future__ import annotations

import time

from flask import Flask, Response, g, request

from config import Settings, load_settings
from db.cluster import private_cluster
from db.connection import database, init_database
from web import audit, blocks, docs, farmers, payout_address, pool_actions, poolers, signin, system
from web.api import API_PREFIX
from web.auth import hash_token
from web.errors import register_error_handlers
from web.metrics import observe
from web.pages import register_pages
from web.ratelimit import client_address, limit
from web.services import Services, services

# Each gunicorn worker serves this many requests at once (threads); a connection for each, for the
# planter's threads of a background plant request, and spare.
THREADS_PER_WORKER = 8
POOL_SIZE_PER_WORKER = THREADS_PER_WORKER + 10


def create_app(settings: Settings | None = None) -> Flask:
    """Build the API for `settings` (loaded from the environment when None).

    Binds the database lazily (no connection until the first request, so it is
    safe to call before or after a fork) and opens custody, which raises
    ConfigError when the keyring is unacceptable for the network.
    """
    settings = settings or load_settings()
    app = Flask("kalepool", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.api_max_body_bytes
    app.json.sort_keys = False
    init_database(settings.database_url or private_cluster(settings.state_dir).url, POOL_SIZE_PER_WORKER)
    app.extensions["kalepool"] = Services(settings)
    register_error_handlers(app)
    for module in (farmers, poolers, blocks, pool_actions, audit, system, signin, payout_address, docs):
        app.register_blueprint(module.blueprint, url_prefix=API_PREFIX)
    register_pages(app)
    app.before_request(_start_clock)
    app.before_request(_limit_rate)
    app.after_request(_count)
    app.teardown_request(_release_connection)
    return app


def _start_clock() -> None:
    g.started = time.perf_counter()


def _limit_rate() -> None:
    """One request from this client, and from this token if any; 429 with Retry-After past the limit."""
    found = services()
    keys = [f"ip:{client_address(request, found.settings.api_trusted_proxy_hops)}"]
    header = request.headers.get("Authorization")
    if header:
        keys.append(f"token:{hash_token(header)[:32]}")
    for key in keys:
        limit(found.limiter, key)


def _count(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    observe(request.method, endpoint, response.status_code, time.perf_counter() - g.get("started", 0.0))
    return response


def _release_connection(exc: BaseException | None) -> None:
    """Hand the request's connection back to the pool."""
    if not database.is_closed():
        database.close()
