"""Custody: a custodial secret is sealed to its farmer row and opens only inside signing."""
import json
import logging

import pytest
from stellar_sdk import Account, Keypair, Network, TransactionBuilder

from chain.custody import Custody, CustodyError
from chain.keystore import FileKeyring, Keystore
from db.connection import database
from db.models import Farmer


@pytest.fixture
def custody(tmp_path):
    return Custody(Keystore(FileKeyring(tmp_path / "keyring.json"), "devnet"))


def _envelope(source: str):
    return (TransactionBuilder(Account(source, 1), Network.TESTNET_NETWORK_PASSPHRASE, 100)
            .append_bump_sequence_op(2).set_timeout(30).build())


def _store(rows, custody):
    farmer_id = Farmer.next_id()
    wallet = custody.create_wallet(farmer_id)
    return rows.farmer(id=farmer_id, custodial_address=wallet.public_key, **wallet.sealed.fields())


def test_signing_adds_a_valid_signature_of_the_custodial_key(rows, custody):
    farmer = _store(rows, custody)
    envelope = _envelope(farmer.custodial_address)
    custody.sign_transaction(Farmer.get_by_id(farmer.id), envelope)
    Keypair.from_public_key(farmer.custodial_address).verify(envelope.hash(), envelope.signatures[0].signature)


def test_swapping_two_rows_secrets_makes_both_fail_to_decrypt(rows, custody):
    first, second = _store(rows, custody), _store(rows, custody)
    columns = "secret_ciphertext, secret_nonce, data_key_wrapped, data_key_nonce"
    database.execute_sql(f"""
        UPDATE farmers AS f SET ({columns}) = (o.secret_ciphertext, o.secret_nonce, o.data_key_wrapped,
                                               o.data_key_nonce)
          FROM farmers AS o WHERE f.id IN (%s, %s) AND o.id IN (%s, %s) AND o.id <> f.id""",
                         (first.id, second.id, first.id, second.id))
    for farmer in (first, second):
        with pytest.raises(CustodyError, match=f"farmer {farmer.id}"):
            custody.sign_transaction(Farmer.get_by_id(farmer.id), _envelope(farmer.custodial_address))


def test_a_secret_moved_to_another_farmer_id_does_not_decrypt(rows, custody):
    farmer = Farmer.get_by_id(_store(rows, custody).id)
    farmer.id += 1000
    with pytest.raises(CustodyError):
        custody.sign_transaction(farmer, _envelope(farmer.custodial_address))


def test_a_tampered_ciphertext_or_key_version_does_not_decrypt(rows, custody):
    farmer = Farmer.get_by_id(_store(rows, custody).id)
    sealed = bytearray(farmer.secret_ciphertext)
    sealed[0] ^= 1
    farmer.secret_ciphertext = bytes(sealed)
    with pytest.raises(CustodyError):
        custody.sign_transaction(farmer, _envelope(farmer.custodial_address))
    farmer = Farmer.get_by_id(farmer.id)
    farmer.key_version = 2
    with pytest.raises(CustodyError):
        custody.sign_transaction(farmer, _envelope(farmer.custodial_address))


def test_a_missing_master_key_is_named_without_key_material(rows, custody, tmp_path):
    farmer = Farmer.get_by_id(_store(rows, custody).id)
    stranger = Custody(Keystore(FileKeyring(tmp_path / "other.json"), "devnet"))
    with pytest.raises(CustodyError, match=f"master key {farmer.master_key_id} is not in"):
        stranger.sign_transaction(farmer, _envelope(farmer.custodial_address))


def test_the_sealed_fields_hold_neither_the_seed_nor_the_raw_secret(custody, seeds):
    wallet = custody.create_wallet(1)
    stored = b"".join(value if isinstance(value, bytes) else str(value).encode()
                      for value in wallet.sealed.fields().values())
    secret = Keypair.from_secret(seeds[0])
    assert secret.public_key == wallet.public_key
    assert seeds[0].encode() not in stored and secret.raw_secret_key() not in stored


def test_custody_logs_the_backend_never_a_key(tmp_path, caplog):
    from chain.keystore import keystore_for
    from config import load_settings

    settings = load_settings(environ={}, state_dir=str(tmp_path))
    with caplog.at_level(logging.DEBUG):
        keystore = keystore_for(settings)
        keystore.current()
    assert "file keyring" in caplog.text
    stored = json.loads((tmp_path / "keyring" / "devnet.json").read_text())["kalepool-devnet"]
    master_keys = [value for name, value in stored.items() if name.startswith("mk-")]
    assert master_keys and not any(key in caplog.text for key in master_keys)
