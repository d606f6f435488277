"""The devnet answers the Stellar RPC basics as stellar-sdk's SorobanServer expects, with DEVNET's constants."""
from __future__ import annotations

import requests
from stellar_sdk import Keypair, Network, xdr
from stellar_sdk.exceptions import AccountNotFoundException

from config.networks import DEVNET


def test_devnet_info_equals_the_devnet_network_profile(devnet):
    info = devnet.info
    assert info["passphrase"] == DEVNET.passphrase == Network.STANDALONE_NETWORK_PASSPHRASE
    assert info["farm_contract"] == DEVNET.farm_contract
    assert info["kale_sac"] == DEVNET.kale_sac
    assert info["kale_asset"] == DEVNET.kale_asset
    assert info["homesteader"].startswith("GAH4IHY7")
    assert info["rpc_url"] == devnet.rpc_url
    assert (info["ledger_seconds"], info["close_interval"], info["temp_ttl"]) == (5, 0.05, 17280)


def test_health_network_version_latest_ledger_and_fee_stats_parse_in_the_sdk(devnet):
    server = devnet.server()
    health = server.get_health()
    assert health.status == "healthy" and health.oldest_ledger == 1
    assert health.ledger_retention_window == 120960
    network = server.get_network()
    assert network.passphrase == DEVNET.passphrase and network.protocol_version == 23
    assert network.friendbot_url == f"{devnet.url}/friendbot"
    assert server.get_version_info().protocol_version == 23
    latest = server.get_latest_ledger()
    assert latest.sequence >= health.latest_ledger and len(latest.id) == 64
    assert server.get_fee_stats().soroban_inclusion_fee.p50 == 100


def test_ledgers_close_every_interval_and_advance_five_seconds_each(devnet):
    server = devnet.server()
    first = server.get_latest_ledger()
    devnet.wait_ledgers(3)
    later = server.get_latest_ledger()
    assert later.sequence >= first.sequence + 3
    assert int(later.close_time) - int(first.close_time) == 5 * (later.sequence - first.sequence)


def test_friendbot_creates_an_account_with_ten_thousand_xlm(devnet):
    address = Keypair.random().public_key
    server = devnet.server()
    try:
        server.load_account(address)
        raise AssertionError("account should not exist yet")
    except AccountNotFoundException:
        pass
    devnet.fund(address)
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT,
                        account=xdr.LedgerKeyAccount(Keypair.from_public_key(address).xdr_account_id()))
    entry = server.get_ledger_entries([key]).entries[0]
    account = xdr.LedgerEntryData.from_xdr(entry.xdr).account
    assert account.balance.int64 == 10_000 * 10_000_000
    assert account.seq_num.sequence_number.int64 == entry.last_modified_ledger << 32
    reply = requests.get(f"{devnet.url}/friendbot", params={"addr": address}, timeout=30)
    assert reply.status_code == 400


def test_friendbot_rejects_a_bad_address(devnet):
    reply = requests.get(f"{devnet.url}/friendbot", params={"addr": "GNOTANADDRESS"}, timeout=30)
    assert reply.status_code == 400


def test_contract_client_default_source_account_exists(devnet):
    account = devnet.server().load_account("GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF")
    assert account.sequence > 0
