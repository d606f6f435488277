"""Channel accounts: many transaction sources for one pooler, so many `work` calls fit in one ledger.

stellar-core keeps at most one pending transaction per source account, so the
agent sends each farmer's `work` from its own channel account. Channel i's key is
derived from the pooler's secret (sha256(seed || "kalepool channel" || i)), so the
same secret always gives the same channels and nothing new needs to be stored.
The pooler account creates and funds them once (create_account, up to 100 per
transaction) and tops them up; friendbot, where there is one, only funds the pooler.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import requests
from stellar_sdk import Asset, CreateAccount, Keypair, Payment, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain.amounts import STROOPS_PER_UNIT, format_stroops
from chain.rpc import ChainClient, RpcUnavailable
from chain.transactions import build_classic, classify_failed, classify_send, sign_with, valid_until

TAG = b"kalepool channel"
OPS_PER_TX = 100


class FundingError(RuntimeError):
    """The pooler's or a channel's account could not be created or funded."""


def channel_keypair(pooler: Keypair, index: int) -> Keypair:
    """Channel `index`'s keypair, derived from the pooler's secret."""
    seed = hashlib.sha256(pooler.raw_secret_key() + TAG + index.to_bytes(4, "big")).digest()
    return Keypair.from_raw_ed25519_seed(seed)


@dataclass(frozen=True)
class Funding:
    """Where XLM comes from: the pooler account pays the channels; friendbot may fund the pooler."""

    friendbot_url: str | None
    channel_xlm_stroops: int = 5 * STROOPS_PER_UNIT  # starting balance: reserve plus fees for many works
    low_xlm_stroops: int = 2 * STROOPS_PER_UNIT  # top up to the starting balance below this
    base_fee: int = 100
    timeout: int = 60


class Channels:
    """The pooler's channel accounts: created on demand, lent out one transaction at a time."""

    def __init__(self, client: ChainClient, pooler: Keypair, funding: Funding) -> None:
        self.client, self.pooler, self.funding = client, pooler, funding
        self.keypairs: list[Keypair] = []
        self._busy: set[int] = set()
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self.keypairs)

    def ensure(self, count: int) -> None:
        """Make channels 0 .. count-1 exist with enough XLM, paid by the pooler account.

        With friendbot (devnet, testnet) a missing pooler account is funded first; the
        channels themselves are always created by the pooler, up to 100 in one transaction.
        """
        wanted = [channel_keypair(self.pooler, i) for i in range(count)]
        balances = self._balances([self.pooler.public_key] + [k.public_key for k in wanted])
        if balances[self.pooler.public_key] is None:
            if not self.funding.friendbot_url:
                raise FundingError(f"pooler account {self.pooler.public_key} does not exist on "
                                   f"{self.client.network.name}: fund it first")
            self._friendbot(self.pooler.public_key)
        starting = self.funding.channel_xlm_stroops
        operations = [CreateAccount(k.public_key, format_stroops(starting)) for k in wanted
                      if balances[k.public_key] is None]
        operations += [Payment(k.public_key, Asset.native(), format_stroops(starting - balances[k.public_key]))
                       for k in wanted if balances[k.public_key] is not None
                       and balances[k.public_key] < self.funding.low_xlm_stroops]
        for offset in range(0, len(operations), OPS_PER_TX):
            self._send_from_pooler(operations[offset:offset + OPS_PER_TX])
        with self._lock:
            if len(wanted) > len(self.keypairs):
                self.keypairs = wanted

    def acquire(self) -> int | None:
        """A free channel's index (it is busy until `release`), or None when all are busy."""
        with self._lock:
            for index in range(len(self.keypairs)):
                if index not in self._busy:
                    self._busy.add(index)
                    return index
        return None

    def hold(self, index: int) -> None:
        """Mark a channel busy (its transaction, sent before a restart, is not resolved yet)."""
        with self._lock:
            self._busy.add(index)

    def release(self, index: int) -> None:
        with self._lock:
            self._busy.discard(index)

    @property
    def free(self) -> int:
        with self._lock:
            return len(self.keypairs) - len(self._busy)

    def _balances(self, addresses: list[str]) -> dict[str, int | None]:
        keys = {}
        for address in addresses:
            key = xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(
                account_id=Keypair.from_public_key(address).xdr_account_id()))
            keys[key.to_xdr()] = (address, key)
        found = self.client.ledger_entries([key for _, key in keys.values()])
        balances: dict[str, int | None] = {address: None for address in addresses}
        for key, (data, _) in found.items():
            balances[keys[key][0]] = data.account.balance.int64
        return balances

    def _friendbot(self, address: str) -> None:
        try:
            response = requests.get(self.funding.friendbot_url, params={"addr": address}, timeout=30)
        except requests.RequestException as exc:
            raise RpcUnavailable(f"friendbot {self.funding.friendbot_url} unreachable: "
                                 f"{type(exc).__name__}") from None
        if response.status_code >= 500:
            raise RpcUnavailable(f"friendbot answered {response.status_code}")
        if response.status_code >= 400 and self._balances([address])[address] is None:
            raise FundingError(f"friendbot refused to fund {address}: {response.text[:200]}")

    def _send_from_pooler(self, operations: list) -> None:
        account = self.client.account(self.pooler.public_key)
        if account is None:
            raise FundingError(f"pooler account {self.pooler.public_key} does not exist")
        envelope = build_classic(self.client, self.pooler.public_key, account.sequence, operations,
                                 self.funding.base_fee, valid_until(self.client, self.funding.timeout))
        tx_hash = envelope.hash_hex()
        failure = classify_send(self.client.send(sign_with(envelope, self.pooler)))
        if failure is not None:
            raise FundingError(f"funding channels failed: {failure.name} {failure.detail}".strip())
        found = self.client.wait_for(tx_hash, timeout=max(self.funding.timeout, 30))
        if found.status == GetTransactionStatus.NOT_FOUND:
            raise FundingError(f"funding transaction {tx_hash} did not land")
        if found.status != GetTransactionStatus.SUCCESS:
            failure = classify_failed(found)
            raise FundingError(f"funding transaction {tx_hash} failed: {failure.name}")

