"""A Stellar RPC client for the pool: typed reads of accounts, KALE balances and farm state.

The same code talks to the devnet, testnet and mainnet; only `Network` differs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from stellar_sdk import Keypair, SorobanServer, xdr
from stellar_sdk.client.requests_client import RequestsClient
from stellar_sdk.exceptions import ConnectionError as SdkConnectionError
from stellar_sdk.soroban_rpc import GetTransactionResponse, GetTransactionStatus, SendTransactionResponse

from chain import storage
from chain.kale import Block, Pail
from config import Network


class RpcUnavailable(RuntimeError):
    """The RPC server could not be reached or answered with a server error."""


BASE_RESERVE = 5_000_000  # stroops per reserve unit (0.5 XLM), a network constant since protocol 10


@dataclass(frozen=True)
class AccountInfo:
    """A classic account: its XLM balance (stroops), sequence number, and what its reserve counts."""

    address: str
    balance: int
    sequence: int
    subentries: int = 0
    sponsoring: int = 0
    sponsored: int = 0

    def min_balance(self, subentries: int | None = None, sponsoring: int | None = None) -> int:
        """The XLM the account must keep: (2 + subentries + sponsoring - sponsored) reserves."""
        subentries = self.subentries if subentries is None else subentries
        sponsoring = self.sponsoring if sponsoring is None else sponsoring
        return (2 + subentries + sponsoring - self.sponsored) * BASE_RESERVE


@dataclass(frozen=True)
class Ledger:
    """The latest closed ledger: sequence and close time (unix seconds)."""

    sequence: int
    close_time: int


@dataclass(frozen=True)
class Entry:
    """A temporary farm entry (Block or Pail) with the last ledger it lives through."""

    value: Block | Pail
    live_until: int


class ChainClient:
    """Reads and submits against one network's RPC."""

    def __init__(self, network: Network, timeout: float = 15.0):
        self.network = network
        self.server = SorobanServer(network.rpc_url, client=RequestsClient(post_timeout=timeout))

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (SdkConnectionError, requests.RequestException) as exc:
            raise RpcUnavailable(f"RPC {self.network.rpc_url} unreachable: {exc}") from None

    def latest_ledger(self) -> Ledger:
        """The latest closed ledger."""
        response = self._call(self.server.get_latest_ledger)
        return Ledger(sequence=response.sequence, close_time=int(response.close_time or 0))

    def ledger_entries(self, keys: list[xdr.LedgerKey]) -> dict[str, tuple[xdr.LedgerEntryData, int | None]]:
        """Entries by LedgerKey XDR (base64): (data, liveUntilLedgerSeq); missing keys are absent."""
        found: dict[str, tuple[xdr.LedgerEntryData, int | None]] = {}
        for offset in range(0, len(keys), 200):
            response = self._call(self.server.get_ledger_entries, keys[offset:offset + 200])
            for entry in response.entries or []:
                found[entry.key] = (xdr.LedgerEntryData.from_xdr(entry.xdr),
                                    entry.live_until_ledger)
        return found

    def account(self, address: str) -> AccountInfo | None:
        """The account, or None when it does not exist."""
        key = xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(
            account_id=Keypair.from_public_key(address).xdr_account_id()))
        found = self.ledger_entries([key]).get(key.to_xdr())
        if found is None:
            return None
        account = found[0].account
        v2 = account.ext.v1.ext.v2 if account.ext.v1 is not None and account.ext.v1.ext.v2 is not None else None
        return AccountInfo(address=address, balance=account.balance.int64,
                           sequence=account.seq_num.sequence_number.int64,
                           subentries=account.num_sub_entries.uint32,
                           sponsoring=v2.num_sponsoring.uint32 if v2 else 0,
                           sponsored=v2.num_sponsored.uint32 if v2 else 0)

    def kale_trustline_key(self, address: str) -> xdr.LedgerKey:
        """The LedgerKey of `address`'s KALE trustline."""
        asset = xdr.TrustLineAsset(
            type=xdr.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4,
            alpha_num4=xdr.AlphaNum4(
                asset_code=xdr.AssetCode4(self.network.kale_asset_code.encode().ljust(4, b"\0")),
                issuer=Keypair.from_public_key(self.network.kale_asset_issuer).xdr_account_id()))
        return xdr.LedgerKey(type=xdr.LedgerEntryType.TRUSTLINE, trust_line=xdr.LedgerKeyTrustLine(
            account_id=Keypair.from_public_key(address).xdr_account_id(), asset=asset))

    def kale_balances(self, addresses: list[str]) -> dict[str, int | None]:
        """KALE balance (stroops) per G-address; None where there is no trustline."""
        keys = {self.kale_trustline_key(a).to_xdr(): a for a in addresses}
        found = self.ledger_entries([xdr.LedgerKey.from_xdr(k) for k in keys])
        balances: dict[str, int | None] = {a: None for a in addresses}
        for key, (data, _) in found.items():
            balances[keys[key]] = data.trust_line.balance.int64
        return balances

    def kale_balance(self, address: str) -> int | None:
        """KALE balance (stroops) of a G-address; None when it has no trustline."""
        return self.kale_balances([address])[address]

    def farm_state(self) -> storage.FarmState:
        """The farm contract's instance storage: current index, FarmBlock, paused."""
        key = storage.instance_ledger_key(self.network.farm_contract)
        found = self.ledger_entries([key]).get(key.to_xdr())
        if found is None:
            raise RpcUnavailable(f"farm contract {self.network.farm_contract} not found on "
                                 f"{self.network.name}")
        return storage.farm_state_from_instance(found[0])

    def block(self, index: int) -> Entry | None:
        """`Block(index)` with its TTL, or None when missing (not yet made, or expired)."""
        key = storage.block_ledger_key(self.network.farm_contract, index)
        found = self.ledger_entries([key]).get(key.to_xdr())
        if found is None:
            return None
        return Entry(storage.block_from_scval(found[0].contract_data.val), found[1] or 0)

    def pails(self, pairs: list[tuple[str, int]]) -> dict[tuple[str, int], Entry]:
        """`Pail(farmer, index)` entries that exist, with their TTLs."""
        keys = {storage.pail_ledger_key(self.network.farm_contract, f, i).to_xdr(): (f, i)
                for f, i in pairs}
        found = self.ledger_entries([xdr.LedgerKey.from_xdr(k) for k in keys])
        return {keys[k]: Entry(storage.pail_from_scval(data.contract_data.val), live or 0)
                for k, (data, live) in found.items()}

    def send(self, envelope_xdr: str) -> SendTransactionResponse:
        """Submit a signed envelope (base64) as is."""
        return self._call(self.server.send_transaction, envelope_xdr)

    def transaction(self, tx_hash: str) -> GetTransactionResponse:
        """The transaction's status on chain (NOT_FOUND, SUCCESS or FAILED)."""
        return self._call(self.server.get_transaction, tx_hash)

    def wait_for(self, tx_hash: str, timeout: float = 60.0, interval: float = 0.1) -> GetTransactionResponse:
        """Poll until the transaction is found or `timeout` seconds pass (then NOT_FOUND)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.transaction(tx_hash)
            if response.status != GetTransactionStatus.NOT_FOUND or time.monotonic() > deadline:
                return response
            time.sleep(interval)
