"""The devnet's deterministic genesis: accounts, the KALE asset contract and the farm contract.

Every key and contract id derives from fixed seeds, so they equal the constants
of `config.networks.DEVNET`: the homesteader deploys the farm (salt
sha256("kalepool devnet farm")), the farm contract is the KALE SAC's admin, and the
network root account (seed sha256(passphrase)) is the friendbot.
"""
from __future__ import annotations

import hashlib

from stellar_sdk import Asset, Keypair, Network, StrKey, xdr

from devnet import entries as E
from devnet.contracts import farm, farm_wasm, sac
from devnet.entries import Entry
from devnet.host import sorted_map

PASSPHRASE = Network.STANDALONE_NETWORK_PASSPHRASE
GENESIS_CLOSE_TIME = 1_735_689_600  # 2025-01-01T00:00:00Z: where a fast (stepped) ledger clock starts
TOTAL_COINS = 100_000_000_000 * 10_000_000
GENESIS_ACCOUNT_XLM = 10_000 * 10_000_000
ZERO_ACCOUNT = StrKey.encode_ed25519_public_key(bytes(32))  # ContractClient's default source
FARM_WASM = farm_wasm.module()  # the farm's real interface; run natively by devnet/contracts/farm.py
FARM_WASM_HASH = hashlib.sha256(FARM_WASM).digest()
MAX_ENTRY_TTL = 3_110_400
MIN_PERSISTENT_TTL = 2_073_600


def homesteader() -> Keypair:
    return Keypair.from_raw_ed25519_seed(hashlib.sha256(b"kalepool devnet homesteader").digest())


def kale_issuer() -> Keypair:
    return Keypair.from_raw_ed25519_seed(hashlib.sha256(b"kalepool devnet KALE issuer").digest())


def root(passphrase: str = PASSPHRASE) -> Keypair:
    """The network's root account, which funds friendbot requests."""
    return Keypair.from_raw_ed25519_seed(hashlib.sha256(passphrase.encode()).digest())


def kale_asset() -> Asset:
    return Asset("KALE", kale_issuer().public_key)


def farm_contract_id(passphrase: str = PASSPHRASE) -> str:
    """FROM_ADDRESS(homesteader, salt) contract id, as `append_create_contract_op` would make it."""
    preimage = xdr.HashIDPreimage(
        type=xdr.EnvelopeType.ENVELOPE_TYPE_CONTRACT_ID,
        contract_id=xdr.HashIDPreimageContractID(
            network_id=xdr.Hash(Network(passphrase).network_id()),
            contract_id_preimage=xdr.ContractIDPreimage(
                type=xdr.ContractIDPreimageType.CONTRACT_ID_PREIMAGE_FROM_ADDRESS,
                from_address=xdr.ContractIDPreimageFromAddress(
                    address=E.sc_address(homesteader().public_key),
                    salt=xdr.Uint256(hashlib.sha256(b"kalepool devnet farm").digest())))))
    return StrKey.encode_contract(hashlib.sha256(preimage.to_xdr_bytes()).digest())


def kale_sac_id(passphrase: str = PASSPHRASE) -> str:
    return kale_asset().contract_id(passphrase)


def _instance(contract: str, executable: xdr.ContractExecutable,
              storage: list[tuple[xdr.SCVal, xdr.SCVal]]) -> xdr.LedgerEntryData:
    val = xdr.SCVal(xdr.SCValType.SCV_CONTRACT_INSTANCE, instance=xdr.SCContractInstance(
        executable, sorted_map(storage)))
    return E.contract_data(E.sc_address(contract), E.INSTANCE_KEY, False, val)


def genesis_entries(passphrase: str = PASSPHRASE, close_time: int = GENESIS_CLOSE_TIME) -> list[tuple[bytes, Entry]]:
    """Every ledger entry of ledger 1, closing at `close_time`."""
    seq = 1
    accounts = [homesteader().public_key, kale_issuer().public_key, ZERO_ACCOUNT]
    root_balance = TOTAL_COINS - GENESIS_ACCOUNT_XLM * len(accounts)
    result = [(E.account_key(root(passphrase).public_key).to_xdr_bytes(),
               Entry(E.new_account(root(passphrase).public_key, root_balance, 0), seq))]
    for address in accounts:
        result.append((E.account_key_bytes(address),
                       Entry(E.new_account(address, GENESIS_ACCOUNT_XLM, seq << E.ACCOUNT_SEQ_SHIFT), seq)))
    farm_id, sac_id = farm_contract_id(passphrase), kale_sac_id(passphrase)
    live_until = seq + MAX_ENTRY_TTL - 1
    sac_instance = _instance(sac_id, xdr.ContractExecutable(
        xdr.ContractExecutableType.CONTRACT_EXECUTABLE_STELLAR_ASSET), sac.instance_storage(kale_asset(), farm_id))
    farm_instance = _instance(farm_id, xdr.ContractExecutable(
        xdr.ContractExecutableType.CONTRACT_EXECUTABLE_WASM, wasm_hash=xdr.Hash(FARM_WASM_HASH)),
        farm.instance_storage(homesteader().public_key, sac_id, close_time))
    result += [
        (E.key_of(sac_instance).to_xdr_bytes(), Entry(sac_instance, seq, live_until)),
        (E.contract_code_key(FARM_WASM_HASH).to_xdr_bytes(), Entry(E.contract_code(FARM_WASM), seq, live_until)),
        (E.key_of(farm_instance).to_xdr_bytes(), Entry(farm_instance, seq, live_until)),
    ]
    return result
