"""config: the settings of SEP-10 sign-in and of the payout-address change delay."""
import pytest

from config import ConfigError, load_settings


def test_an_unsigned_payout_address_change_waits_72_hours_by_default():
    assert load_settings({}).payout_address_change_delay_seconds == 72 * 3600


def test_the_web_auth_domain_is_a_host_name_with_an_optional_port():
    settings = load_settings({"KALEPOOL_WEB_AUTH_DOMAIN": "Pool.Example.org:8443"})
    assert settings.web_auth_domain == "pool.example.org:8443"


@pytest.mark.parametrize("bad", ["", "has space.org", "https://pool.example.org", "a" * 60, "-pool.org"])
def test_a_web_auth_domain_that_is_not_a_host_name_is_refused(bad):
    with pytest.raises(ConfigError, match="KALEPOOL_WEB_AUTH_DOMAIN"):
        load_settings({"KALEPOOL_WEB_AUTH_DOMAIN": bad})
