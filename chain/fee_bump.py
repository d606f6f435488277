"""Fee bumps: the operator's sponsor account pays a farmer's transaction fee.

The farmer's custodial account stays the inner transaction's source (its signature, sequence
number and source-account auth are unchanged); the sponsor signs only the outer fee-bump
envelope, so a farmer needs no XLM beyond its reserve. The sponsor's secret comes from the
environment or the keyring, never from a command line, and never appears in a message.
"""
from __future__ import annotations

import os
from typing import Callable, Mapping

from stellar_sdk import FeeBumpTransactionEnvelope, Keypair, TransactionBuilder, TransactionEnvelope

SECRET_ENV = "KALEPOOL_FEE_SPONSOR_SECRET"
KEYRING_NAME = "fee-sponsor"


class SponsorUnavailable(RuntimeError):
    """Fee sponsorship is on but the sponsor's secret is missing or invalid (the key is never shown)."""


def load_sponsor(keyring_get: Callable[[str], str | None], environ: Mapping[str, str] | None = None) -> Keypair:
    """The sponsor's keypair: $KALEPOOL_FEE_SPONSOR_SECRET, else the keyring entry `fee-sponsor`."""
    environ = os.environ if environ is None else environ
    if environ.get(SECRET_ENV):
        text, origin = environ[SECRET_ENV].strip(), f"${SECRET_ENV}"
    else:
        text, origin = (keyring_get(KEYRING_NAME) or "").strip(), f"the keyring entry {KEYRING_NAME!r}"
    if not text:
        raise SponsorUnavailable(f"fee sponsorship is on but neither ${SECRET_ENV} nor the keyring entry "
                                 f"{KEYRING_NAME!r} holds the sponsor's secret key")
    try:
        return Keypair.from_secret(text)
    except Exception:
        raise SponsorUnavailable(f"{origin} does not hold a valid Stellar secret key (S...)") from None


def wrap(inner: TransactionEnvelope, sponsor: Keypair, base_fee: int, passphrase: str) -> FeeBumpTransactionEnvelope:
    """`inner` (already signed by its source) inside a fee-bump envelope signed by `sponsor`,
    paying `base_fee` per operation (+1 for the bump) plus the inner Soroban resource fee."""
    bumped = TransactionBuilder.build_fee_bump_transaction(sponsor.public_key, base_fee, inner, passphrase)
    bumped.sign(sponsor)
    return bumped


def max_fee(envelope: FeeBumpTransactionEnvelope) -> int:
    """The most the sponsor can be charged for this envelope (its outer fee)."""
    return envelope.transaction.fee


def inner_envelope(envelope: TransactionEnvelope | FeeBumpTransactionEnvelope) -> TransactionEnvelope:
    """The transaction a fee bump wraps (a plain envelope is its own)."""
    if isinstance(envelope, FeeBumpTransactionEnvelope):
        return envelope.transaction.inner_transaction_envelope
    return envelope
