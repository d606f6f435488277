"""The web app's settings: CORS origins and the block explorer's URL pattern per network."""
from __future__ import annotations

import pytest

from config import ConfigError, load_settings
from web.pages.explorer import explorer_tx_url


def test_no_origin_may_call_the_api_cross_site_by_default():
    assert load_settings({}).cors_origins == ()


def test_cors_origins_are_a_comma_separated_list_of_bare_origins():
    settings = load_settings({"KALEPOOL_CORS_ORIGINS": "https://farm.example, http://localhost:3000"})
    assert settings.cors_origins == ("https://farm.example", "http://localhost:3000")


@pytest.mark.parametrize("origin", ["https://farm.example/", "farm.example", "ftp://farm.example", "https://a.b/x"])
def test_a_cors_origin_with_a_path_or_another_scheme_is_refused_by_name(origin):
    with pytest.raises(ConfigError, match="KALEPOOL_CORS_ORIGINS"):
        load_settings({"KALEPOOL_CORS_ORIGINS": origin})


def test_the_explorer_link_defaults_per_network_and_the_devnet_has_none():
    assert explorer_tx_url(load_settings({})) is None
    assert "testnet" in explorer_tx_url(load_settings({"KALEPOOL_NETWORK": "testnet"}))
    assert "public" in explorer_tx_url(load_settings({"KALEPOOL_NETWORK": "mainnet"}))


def test_an_explorer_pattern_must_say_where_the_hash_goes():
    custom = load_settings({"KALEPOOL_EXPLORER_TX_URL": "http://explorer.local/tx/{hash}"})
    assert explorer_tx_url(custom) == "http://explorer.local/tx/{hash}"
    with pytest.raises(ConfigError, match="KALEPOOL_EXPLORER_TX_URL"):
        load_settings({"KALEPOOL_EXPLORER_TX_URL": "http://explorer.local/tx/"})
