"""stellar-sdk's ContractClient reads and writes the KALE contracts on the devnet unchanged."""
from __future__ import annotations

from stellar_sdk import scval
from stellar_sdk.contract import ContractClient

from tests.fixtures.devnet import new_funded_farmer

KALE = 10_000_000


def test_contract_client_reads_the_asset_contract_metadata_and_balances(devnet):
    farmer = new_funded_farmer(devnet, kale=7 * KALE)
    client = ContractClient(devnet.info["kale_sac"], devnet.rpc_url, devnet.passphrase)
    assert client.invoke("decimals", parse_result_xdr_fn=scval.from_uint32).result() == 7
    assert client.invoke("name", parse_result_xdr_fn=scval.from_string).result().decode() == devnet.info["kale_asset"]
    assert client.invoke("symbol", parse_result_xdr_fn=scval.from_string).result() == b"KALE"
    balance = client.invoke("balance", [scval.to_address(farmer.public_key)], parse_result_xdr_fn=scval.from_int128)
    assert balance.result() == 7 * KALE
    admin = client.invoke("admin", parse_result_xdr_fn=scval.from_address).result()
    assert admin.address == devnet.info["farm_contract"]


def test_contract_client_plants_with_sign_and_submit(devnet):
    farmer = new_funded_farmer(devnet, kale=7 * KALE)
    farm = ContractClient(devnet.info["farm_contract"], devnet.rpc_url, devnet.passphrase)
    planted = farm.invoke("plant", [scval.to_address(farmer.public_key), scval.to_int128(2 * KALE)],
                          source=farmer.public_key, signer=farmer)
    assert scval.to_native(planted.sign_and_submit()) is None
    sac = ContractClient(devnet.info["kale_sac"], devnet.rpc_url, devnet.passphrase)
    balance = sac.invoke("balance", [scval.to_address(farmer.public_key)], parse_result_xdr_fn=scval.from_int128)
    assert balance.result() == 5 * KALE
