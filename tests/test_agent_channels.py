"""gpu_miner.agent.channels: the pooler's channel accounts, derived from its key and funded on the devnet."""
from __future__ import annotations

import dataclasses

import pytest
from stellar_sdk import Asset, Keypair, Payment

from chain.rpc import ChainClient
from chain.transactions import build_classic, sign_with, valid_until
from config.networks import DEVNET
from gpu_miner.agent.channels import Channels, Funding, FundingError, channel_keypair

XLM = 10_000_000


@pytest.fixture
def client(devnet) -> ChainClient:
    return ChainClient(dataclasses.replace(DEVNET, rpc_url=devnet.rpc_url))


def test_channel_keys_are_the_same_for_the_same_pooler_and_differ_between_channels_and_poolers():
    pooler = Keypair.random()
    again = Keypair.from_secret(pooler.secret)
    assert channel_keypair(pooler, 0).public_key == channel_keypair(again, 0).public_key
    keys = {channel_keypair(pooler, i).public_key for i in range(5)}
    keys.add(channel_keypair(Keypair.random(), 0).public_key)
    assert len(keys) == 6 and pooler.public_key not in keys


def test_the_pooler_account_creates_and_funds_its_channels(client, devnet):
    pooler = Keypair.random()
    devnet.fund(pooler.public_key)
    channels = Channels(client, pooler, Funding(friendbot_url=None))
    channels.ensure(3)
    assert channels.count == 3
    for index in range(3):
        assert client.account(channel_keypair(pooler, index).public_key).balance == 5 * XLM
    channels.ensure(3)  # nothing to do the second time
    assert client.account(channel_keypair(pooler, 0).public_key).balance == 5 * XLM


def test_without_friendbot_a_missing_pooler_account_is_a_clear_error(client):
    channels = Channels(client, Keypair.random(), Funding(friendbot_url=None))
    with pytest.raises(FundingError, match="does not exist on devnet: fund it first"):
        channels.ensure(1)


def test_friendbot_funds_a_missing_pooler_account_which_then_creates_the_channels(client, devnet):
    pooler = Keypair.random()
    channels = Channels(client, pooler, Funding(friendbot_url=f"{devnet.url}/friendbot"))
    channels.ensure(2)
    assert client.account(pooler.public_key) is not None
    assert all(client.account(channel_keypair(pooler, i).public_key).balance == 5 * XLM for i in range(2))


def test_a_channel_is_lent_to_one_transaction_at_a_time(client, devnet):
    pooler = Keypair.random()
    channels = Channels(client, pooler, Funding(friendbot_url=f"{devnet.url}/friendbot"))
    channels.ensure(2)
    channels.hold(0)  # its transaction from before a restart is unresolved
    assert channels.acquire() == 1
    assert channels.acquire() is None
    channels.release(0)
    assert channels.acquire() == 0 and channels.free == 0


def test_a_channel_low_on_xlm_is_topped_up_to_its_starting_balance(client, devnet):
    pooler = Keypair.random()
    devnet.fund(pooler.public_key)
    channels = Channels(client, pooler, Funding(friendbot_url=None))
    channels.ensure(1)
    channel = channel_keypair(pooler, 0)
    spend = build_classic(client, channel.public_key, client.account(channel.public_key).sequence,
                          [Payment(pooler.public_key, Asset.native(), "3.5")], 100, valid_until(client, 60))
    assert client.wait_for(client.send(sign_with(spend, channel)).hash).status.value == "SUCCESS"
    assert client.account(channel.public_key).balance < 2 * XLM
    channels.ensure(1)
    assert client.account(channel.public_key).balance == 5 * XLM
