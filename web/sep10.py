"""SEP-10 challenges: proof that the caller holds a Stellar account's key, without a token.

The pool signs a challenge transaction (never submitted) for an account; the holder signs it
with the account's master key and sends it back. `verify` checks the pool's signature, the
holder's, the time bounds and the pool's domain; `consume` makes sure a challenge is accepted
once. The pool's signing key is a secret kept with custody's master keys in the keyring (made
on first use, under a database lock so that every API process uses the same one).
"""
from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from peewee import IntegrityError
from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.sep.exceptions import InvalidSep10ChallengeError
from stellar_sdk.sep.stellar_web_authentication import (build_challenge_transaction,
                                                        read_challenge_transaction,
                                                        verify_challenge_transaction_signed_by_client_master_key)

from db.connection import database
from db.models import UsedChallenge
from web.errors import ApiError
from web.services import services

log = logging.getLogger(__name__)

CHALLENGE_SECONDS = 300
KEY_ENTRY = "sep10-signing-key"
# An arbitrary constant that no other kalepool lock uses ("kalesep1" in ASCII).
KEY_LOCK = 0x6B616C6573657031


@dataclass(frozen=True)
class VerifiedChallenge:
    """A challenge signed by the pool and by `account`'s master key, within its time bounds."""

    account: str
    tx_hash: str
    expires_at: int


def _stored_secret() -> str | None:
    keystore = services().custody.keystore
    return keystore.backend.get_password(keystore.service, KEY_ENTRY)


def server_keypair() -> Keypair:
    """The pool's challenge-signing key; made on first use."""
    secret = _stored_secret()
    if secret is None:
        with database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (KEY_LOCK,))
            secret = _stored_secret()
            if secret is None:
                keystore = services().custody.keystore
                created = Keypair.random()
                keystore.backend.set_password(keystore.service, KEY_ENTRY, created.secret)
                log.info("sep10: created the challenge signing key %s in %s", created.public_key,
                         keystore.backend_name)
                return created
    return Keypair.from_secret(secret)


def issue_challenge(account: str) -> dict[str, object]:
    """A challenge for `account`, signed by the pool (for any account: it says nothing of who farms)."""
    settings = services().settings
    passphrase = settings.network.passphrase
    transaction = build_challenge_transaction(
        server_keypair().secret, account, settings.web_auth_domain, settings.web_auth_domain, passphrase,
        timeout=CHALLENGE_SECONDS)
    bounds = TransactionEnvelope.from_xdr(transaction, passphrase).transaction.preconditions.time_bounds
    return {"transaction": transaction, "network_passphrase": passphrase, "expires_at": bounds.max_time}


def verify(transaction: str) -> VerifiedChallenge:
    """The challenge `transaction` checked in full; 400 when it is not a transaction, 401 when any check
    fails (pool signature, master-key signature, time bounds, domain)."""
    settings = services().settings
    passphrase = settings.network.passphrase
    domain = settings.web_auth_domain
    try:
        envelope = TransactionEnvelope.from_xdr(transaction, passphrase)
    except Exception:  # the SDK raises assorted errors (binascii, EOF, XDR) on malformed input
        raise ApiError(400, "invalid_field", "transaction: not a base64 transaction envelope") from None
    server = server_keypair().public_key
    try:
        verify_challenge_transaction_signed_by_client_master_key(transaction, server, domain, domain,
                                                                 passphrase)
        challenge = read_challenge_transaction(transaction, server, domain, domain, passphrase)
    except (InvalidSep10ChallengeError, ValueError) as exc:
        raise ApiError(401, "invalid_challenge", f"the challenge is not valid: {exc}") from None
    bounds = envelope.transaction.preconditions.time_bounds
    return VerifiedChallenge(challenge.client_account_id, envelope.hash_hex(), bounds.max_time)


def consume(challenge: VerifiedChallenge, purpose: str) -> None:
    """Record the challenge as used, inside the caller's transaction; 401 when it was used before."""
    UsedChallenge.delete().where(UsedChallenge.expires_at < datetime.datetime.now(datetime.timezone.utc)
                                 - datetime.timedelta(days=1)).execute()
    expires = datetime.datetime.fromtimestamp(challenge.expires_at, datetime.timezone.utc)
    try:
        with database.atomic():
            UsedChallenge.insert(tx_hash=challenge.tx_hash, account=challenge.account, purpose=purpose,
                                 expires_at=expires).execute()
    except IntegrityError:
        raise ApiError(401, "challenge_used", "this challenge was already used; ask for a new one") from None
