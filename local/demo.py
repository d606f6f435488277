"""First-run demo population for `manage.py up` on the devnet: poolers and farmers made the way
real ones are, a pooler by the operator's function and farmers through the HTTP API.

What a second run needs (API keys, farmer tokens) is kept in `<state>/demo.json` (mode 0600);
the poolers' own Stellar secrets are kept in the keyring, never in that file.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import requests
from stellar_sdk import Asset, ChangeTrust, Keypair

from chain.keystore import Keystore
from devnet.controller import LocalDevnet
from chain.rpc import ChainClient
from chain.transactions import build_classic, sign_with, valid_until
from config import Settings

POOLER_SECRETS = "kalepool-pooler"
DEMO_KALE = 1_000 * 10_000_000


@dataclass
class DemoPooler:
    id: int
    api_key: str
    address: str


@dataclass
class DemoFarmer:
    id: int
    token: str
    address: str
    pooler_id: int


@dataclass
class Demo:
    poolers: list[DemoPooler]
    farmers: list[DemoFarmer]

    def save(self, path: Path) -> None:
        """Write atomically, readable by this user only."""
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2))
        os.chmod(temporary, 0o600)
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Demo | None":
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls([DemoPooler(**p) for p in data["poolers"]], [DemoFarmer(**f) for f in data["farmers"]])


def pooler_secret(keystore: Keystore, pooler_id: int) -> str:
    """The demo pooler's Stellar secret, from the keyring (handed to its agent's environment only)."""
    secret = keystore.backend.get_password(POOLER_SECRETS, str(pooler_id))
    if secret is None:
        raise RuntimeError(f"the keyring holds no secret for pooler {pooler_id}")
    return secret


def account_with_trustline(devnet: LocalDevnet, client: ChainClient, settings: Settings) -> Keypair:
    """A new account funded by friendbot, holding a KALE trustline (so it can be paid KALE)."""
    keypair = Keypair.random()
    devnet.fund(keypair.public_key)
    network = settings.network
    envelope = build_classic(client, keypair.public_key, client.account(keypair.public_key).sequence,
                             [ChangeTrust(Asset(network.kale_asset_code, network.kale_asset_issuer))],
                             settings.base_fee_stroops, valid_until(client, settings.tx_timeout_seconds))
    response = client.wait_for(client.send(sign_with(envelope, keypair)).hash)
    if response.status.value != "SUCCESS":
        raise RuntimeError(f"trustline for {keypair.public_key} failed: {response.status.value}")
    return keypair


def populate(settings: Settings, keystore: Keystore, devnet: LocalDevnet, api_url: str,
             poolers: int, farmers: int, create_pooler: Callable[[str, str], tuple[int, str]]) -> Demo:
    """Make `poolers` poolers and `farmers` farmers (spread over them), funded and active.

    `create_pooler(name, payout_address) -> (id, api_key)` is the operator's way of making one.
    """
    client = ChainClient(settings.network)
    demo = Demo([], [])
    for number in range(poolers):
        keypair = account_with_trustline(devnet, client, settings)
        pooler_id, api_key = create_pooler(f"demo-pooler-{number + 1}", keypair.public_key)
        keystore.backend.set_password(POOLER_SECRETS, str(pooler_id), keypair.secret)
        demo.poolers.append(DemoPooler(pooler_id, api_key, keypair.public_key))
    for number in range(farmers):
        pooler = demo.poolers[number % len(demo.poolers)]
        payout = account_with_trustline(devnet, client, settings)
        created = _post(f"{api_url}/api/v1/farmers", json={
            "payout_address": payout.public_key, "pooler_id": pooler.id,
            "stake_bps": 2_500 * (1 + number % 4), "harvest_interval_blocks": 1 + number % 2})
        devnet.fund(created["custodial_address"])
        _post(f"{api_url}/api/v1/farmers/me/activate", token=created["api_token"], json={})
        devnet.mint(created["custodial_address"], DEMO_KALE)
        demo.farmers.append(DemoFarmer(created["farmer_id"], created["api_token"],
                                       created["custodial_address"], pooler.id))
    return demo


def _post(url: str, json: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(url, json=json, headers=headers, timeout=120)
    if response.status_code >= 400:
        raise RuntimeError(f"POST {url}: {response.status_code} {response.text[:300]}")
    return response.json()

