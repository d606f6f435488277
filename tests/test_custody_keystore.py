"""Where master keys live: a file keyring on devnet, a real keyring elsewhere unless explicitly allowed."""
import os
import stat

import pytest

from chain.keystore import FileKeyring, Keystore, KeystoreError, keystore_for
from config import ConfigError, load_settings


def test_devnet_uses_a_private_file_keyring_under_the_state_dir(tmp_path):
    keystore = keystore_for(load_settings(environ={}, state_dir=str(tmp_path)))
    key_id, key = keystore.current()
    path = tmp_path / "keyring" / "devnet.json"
    assert isinstance(keystore.backend, FileKeyring) and len(key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert keystore.current() == (key_id, key)


@pytest.mark.parametrize("network", ["testnet", "mainnet"])
def test_public_networks_refuse_to_start_without_a_real_keyring(tmp_path, network):
    with pytest.raises(ConfigError, match="KALEPOOL_ALLOW_FILE_KEYRING"):
        keystore_for(load_settings(environ={}, network_name=network, state_dir=str(tmp_path)))


def test_public_networks_accept_a_file_keyring_when_explicitly_allowed(tmp_path):
    settings = load_settings(environ={"KALEPOOL_ALLOW_FILE_KEYRING": "1"}, network_name="testnet",
                             state_dir=str(tmp_path))
    assert isinstance(keystore_for(settings).backend, FileKeyring)


def test_the_current_master_key_cannot_be_deleted(tmp_path):
    keystore = Keystore(FileKeyring(tmp_path / "k.json"), "devnet")
    key_id, _ = keystore.current()
    with pytest.raises(KeystoreError, match="current"):
        keystore.delete(key_id)


def test_networks_keep_separate_master_keys(tmp_path):
    backend = FileKeyring(tmp_path / "k.json")
    assert Keystore(backend, "devnet").current() != Keystore(backend, "testnet").current()
