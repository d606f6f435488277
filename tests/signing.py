"""Test helpers for SEP-10: a farmer registered through the API, and a pool challenge signed by a key."""
from __future__ import annotations

from stellar_sdk import Keypair, TransactionEnvelope


def signed_challenge(harness, signer: Keypair, account: str | None = None) -> str:
    """Ask the pool for a challenge for `account` (default: the signer's) and sign it with `signer`."""
    response = harness.api("POST", "/auth/challenge", json={"account": account or signer.public_key})
    assert response.status_code == 200, response.text
    body = response.json()
    envelope = TransactionEnvelope.from_xdr(body["transaction"], body["network_passphrase"])
    envelope.sign(signer)
    return envelope.to_xdr()


def registered_farmer(harness, payout: str) -> dict:
    """A farmer registered through the API with payout address `payout` (not funded: it need not be)."""
    pooler = harness.new_pooler()
    response = harness.api("POST", "/farmers", json={"payout_address": payout, "pooler_id": pooler.id,
                                                     "stake_bps": 5000})
    assert response.status_code == 201, response.text
    return response.json()
