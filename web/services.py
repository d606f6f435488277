"""What one API process holds: settings, request schemas, custody, the chain client, rate limits."""
from __future__ import annotations

from typing import Any

from flask import current_app

from chain.custody import Custody
from chain.rpc import ChainClient
from config import Settings
from jobs.pool import Pool, build_pool
from web.ratelimit import SharedRateLimiter
from web.validation import Schemas, schemas_for

RPC_TIMEOUT_SECONDS = 10.0
PUBLIC_POOLERS_TTL_SECONDS = 2.0


class Services:
    """Built once per process by create_app; custody is opened eagerly so a bad keyring stops start-up."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.schemas: Schemas = schemas_for(settings.max_harvest_interval_blocks,
                                            settings.default_harvest_interval_blocks)
        self.custody = Custody.from_settings(settings)
        self.limiter = SharedRateLimiter("api", settings.api_rate_limit_per_minute)
        self.registrations = SharedRateLimiter("register", settings.registrations_per_hour, 3600.0)
        self._chain: ChainClient | None = None
        self._pool: Pool | None = None
        # GET /poolers is public and costly: (monotonic time made, listing), kept briefly
        self.public_poolers: tuple[float, list[dict[str, Any]]] = (float("-inf"), [])
        self.public_poolers_ttl = PUBLIC_POOLERS_TTL_SECONDS

    @property
    def chain(self) -> ChainClient:
        """The RPC client, made on first use."""
        if self._chain is None:
            self._chain = ChainClient(self.settings.network, timeout=RPC_TIMEOUT_SECONDS)
        return self._chain

    @property
    def pool(self) -> Pool:
        """The money-moving jobs (planter, outbox...), made on first use."""
        if self._pool is None:
            self._pool = build_pool(self.settings, custody=self.custody, client=self.chain)
        return self._pool


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["kalepool"]
