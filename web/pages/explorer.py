"""Links to a block explorer, whose URL pattern is set per network."""
from __future__ import annotations

from config import Settings

# Public explorers of the public networks; the devnet has none (its hashes are shown as text).
DEFAULT_TX_URLS = {"testnet": "https://stellar.expert/explorer/testnet/tx/{hash}",
                   "mainnet": "https://stellar.expert/explorer/public/tx/{hash}"}


def explorer_tx_url(settings: Settings) -> str | None:
    """The transaction URL pattern (with `{hash}`) for the settings' network, None when there is none."""
    return settings.explorer_tx_url or DEFAULT_TX_URLS.get(settings.network_name)
