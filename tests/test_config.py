"""config: network profiles and validated settings."""
import pytest
from stellar_sdk import Asset

from config import NETWORKS, ConfigError, load_settings


def test_defaults_are_devnet_with_a_fifty_percent_pooler_share():
    settings = load_settings({})
    assert settings.network.name == "devnet"
    assert settings.network.passphrase == "Standalone Network ; February 2017"
    assert settings.pooler_share_bps == 5000


@pytest.mark.parametrize("name", ["testnet", "mainnet", "devnet"])
def test_each_profile_sac_is_the_kale_asset_contract(name):
    network = NETWORKS[name]
    asset = Asset(network.kale_asset_code, network.kale_asset_issuer)
    assert asset.contract_id(network.passphrase) == network.kale_sac


def test_mainnet_profile_has_the_public_deployment():
    mainnet = load_settings({"KALEPOOL_NETWORK": "mainnet"}).network
    assert mainnet.farm_contract == "CDL74RF5BLYR2YBLCCI7F5FB6TPSCLKEJUBSD2RSVWZ4YHF3VMFAIGWA"
    assert mainnet.kale_asset == "KALE:GBDVX4VELCDSQ54KQJYTNHXAHFLBCA77ZY2USQBM4CSHTTV7DME7KALE"


def test_rpc_url_overrides_the_profile():
    settings = load_settings({"KALEPOOL_NETWORK": "testnet", "KALEPOOL_RPC_URL": "http://127.0.0.1:9/rpc"})
    assert settings.network.rpc_url == "http://127.0.0.1:9/rpc"
    assert settings.network.farm_contract == NETWORKS["testnet"].farm_contract


def test_settings_file_is_read_and_environment_wins(tmp_path):
    path = tmp_path / "pool.toml"
    path.write_text('pooler_share_bps = 4000\nlog_level = "debug"\n')
    settings = load_settings({"KALEPOOL_CONFIG": str(path), "KALEPOOL_LOG_LEVEL": "error"})
    assert (settings.pooler_share_bps, settings.log_level) == (4000, "error")


@pytest.mark.parametrize("environ, named", [
    ({"KALEPOOL_NETWORK": "futurenet"}, "KALEPOOL_NETWORK"),
    ({"KALEPOOL_POOLER_SHARE_BPS": "10001"}, "KALEPOOL_POOLER_SHARE_BPS"),
    ({"KALEPOOL_POOLER_SHARE_BPS": "12.5"}, "KALEPOOL_POOLER_SHARE_BPS"),
    ({"KALEPOOL_RPC_URL": "localhost:8000"}, "KALEPOOL_RPC_URL"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ({"KALEPOOL_ALLOW_FILE_KEYRING": "maybe"}, "KALEPOOL_ALLOW_FILE_KEYRING"),
    ({"KALEPOOL_CONFIG": "/nonexistent/pool.toml"}, "KALEPOOL_CONFIG"),
])
def test_a_bad_setting_is_a_one_line_error_naming_it(environ, named):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert named in str(raised.value) and "\n" not in str(raised.value)


def test_unknown_keys_in_the_settings_file_are_refused(tmp_path):
    path = tmp_path / "pool.toml"
    path.write_text("pooler_shares = 4000\n")
    with pytest.raises(ConfigError, match="pooler_shares"):
        load_settings({"KALEPOOL_CONFIG": str(path)})


def test_an_unparsable_settings_file_is_refused(tmp_path):
    path = tmp_path / "pool.toml"
    path.write_text("pooler_share_bps = = 1\n")
    with pytest.raises(ConfigError, match="KALEPOOL_CONFIG"):
        load_settings({"KALEPOOL_CONFIG": str(path)})
