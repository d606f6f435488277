"""Custodial wallets: generate a farmer's keypair, seal its secret, and sign with it.

The 32-byte ed25519 seed is encrypted with AES-256-GCM under a random data key
of its own; the data key is AES-256-GCM-wrapped under a master key from the
keystore. Both encryptions bind (farmer id, public key, key version) as
associated data, so a sealed secret moved to another row, or rows swapped, no
longer decrypt. The seed is decrypted only inside `sign_transaction`, and no
message this module raises or logs carries key material.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stellar_sdk import Keypair, TransactionEnvelope

from chain.keystore import Keystore, KeystoreError, keystore_for
from config import Settings

KEY_VERSION = 1
NONCE_BYTES = 12


class CustodyError(RuntimeError):
    """A sealed secret could not be used; the message names the farmer, never a key."""


@dataclass(frozen=True)
class SealedSecret:
    """The encrypted fields of a custodial secret, as stored on the farmer's row."""

    secret_ciphertext: bytes
    secret_nonce: bytes
    data_key_wrapped: bytes
    data_key_nonce: bytes
    master_key_id: str
    key_version: int = KEY_VERSION

    def fields(self) -> dict[str, object]:
        """Column name -> value, to store on the row."""
        return asdict(self)


class CustodialRow(Protocol):
    """What custody needs of a farmer's row (db.models.Farmer has it)."""

    id: int
    custodial_address: str
    secret_ciphertext: bytes
    secret_nonce: bytes
    data_key_wrapped: bytes
    data_key_nonce: bytes
    master_key_id: str
    key_version: int


# Signs an envelope as the farmer's custodial wallet (what Custody.sign_transaction is).
Signer = Callable[[CustodialRow, TransactionEnvelope], None]


@dataclass(frozen=True)
class Wallet:
    """A new custodial wallet: its address and its sealed secret."""

    public_key: str
    sealed: SealedSecret


def _associated_data(farmer_id: int, public_key: str, key_version: int, purpose: str) -> bytes:
    return f"kalepool-custody|{purpose}|farmer={farmer_id}|public={public_key}|v={key_version}".encode()


def _sealed_of(row: CustodialRow) -> SealedSecret:
    return SealedSecret(bytes(row.secret_ciphertext), bytes(row.secret_nonce), bytes(row.data_key_wrapped),
                        bytes(row.data_key_nonce), row.master_key_id, row.key_version)


class Custody:
    """Custodial keys of one pool, with master keys from one keystore."""

    def __init__(self, keystore: Keystore):
        self.keystore = keystore

    @classmethod
    def from_settings(cls, settings: Settings) -> "Custody":
        """Custody with the keystore the settings call for (see `keystore_for`)."""
        return cls(keystore_for(settings))

    def create_wallet(self, farmer_id: int) -> Wallet:
        """Generate a keypair for `farmer_id` and seal its secret under the current master key."""
        keypair = Keypair.random()
        public_key = keypair.public_key
        data_key = AESGCM.generate_key(bit_length=256)
        secret_nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(
            secret_nonce, keypair.raw_secret_key(), _associated_data(farmer_id, public_key, KEY_VERSION, "secret"))
        del keypair
        master_id, master_key = self.keystore.current()
        wrapped, wrap_nonce = self._wrap(data_key, master_key, master_id, farmer_id, public_key, KEY_VERSION)
        return Wallet(public_key, SealedSecret(ciphertext, secret_nonce, wrapped, wrap_nonce, master_id))

    def sign_transaction(self, farmer: CustodialRow, envelope: TransactionEnvelope) -> None:
        """Add the farmer's signature to `envelope`; the secret lives only for this call."""
        sealed = _sealed_of(farmer)
        data_key = self._unwrap(sealed, farmer.id, farmer.custodial_address)
        try:
            seed = AESGCM(data_key).decrypt(
                sealed.secret_nonce, sealed.secret_ciphertext,
                _associated_data(farmer.id, farmer.custodial_address, sealed.key_version, "secret"))
        except InvalidTag:
            raise CustodyError(f"farmer {farmer.id}: custodial secret does not decrypt "
                               "(row altered or moved)") from None
        keypair = Keypair.from_raw_ed25519_seed(seed)
        del seed
        if keypair.public_key != farmer.custodial_address:
            raise CustodyError(f"farmer {farmer.id}: custodial secret does not match its address")
        envelope.sign(keypair)
        del keypair

    def rewrap(self, farmer: CustodialRow, master_id: str, master_key: bytes) -> SealedSecret:
        """The farmer's sealed secret with its data key re-wrapped under another master key.

        The secret itself is never decrypted; only the data key is, in memory.
        """
        sealed = _sealed_of(farmer)
        data_key = self._unwrap(sealed, farmer.id, farmer.custodial_address)
        wrapped, nonce = self._wrap(data_key, master_key, master_id, farmer.id, farmer.custodial_address,
                                    sealed.key_version)
        return SealedSecret(sealed.secret_ciphertext, sealed.secret_nonce, wrapped, nonce, master_id,
                            sealed.key_version)

    @staticmethod
    def _wrap(data_key: bytes, master_key: bytes, master_id: str, farmer_id: int, public_key: str,
              key_version: int) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(farmer_id, public_key, key_version, f"data-key|master={master_id}")
        return AESGCM(master_key).encrypt(nonce, data_key, aad), nonce

    def _unwrap(self, sealed: SealedSecret, farmer_id: int, public_key: str) -> bytes:
        try:
            master_key = self.keystore.get(sealed.master_key_id)
        except KeystoreError as exc:
            raise CustodyError(f"farmer {farmer_id}: {exc}") from None
        aad = _associated_data(farmer_id, public_key, sealed.key_version, f"data-key|master={sealed.master_key_id}")
        try:
            return AESGCM(master_key).decrypt(sealed.data_key_nonce, sealed.data_key_wrapped, aad)
        except InvalidTag:
            raise CustodyError(f"farmer {farmer_id}: data key does not unwrap under master key "
                               f"{sealed.master_key_id} (row altered or moved)") from None
