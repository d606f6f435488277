"""Ledger keys and entries of the devnet (accounts, trustlines, claimable balances, contract data, code), as XDR.

An `Entry` is one stored ledger entry: its LedgerEntryData, the ledger that last
modified it, for contract data and code the ledger it lives until, and its
LedgerEntryExt (v1 names the account sponsoring its reserve, as for every
claimable balance). Entries are immutable: a change makes a new Entry, so a
"before" snapshot stays valid.
"""
from __future__ import annotations

import copy
import hashlib
from functools import lru_cache

from stellar_sdk import Address, Asset, Keypair, StrKey, xdr

BASE_RESERVE = 5_000_000
ACCOUNT_SEQ_SHIFT = 32  # a new account's sequence number is (ledger << 32)
AUTHORIZED_FLAG = 1
MAX_TRUSTLINE_LIMIT = 2**63 - 1
MAX_INT64 = 2**63 - 1
EXT_V0 = b"\x00\x00\x00\x00"  # LedgerEntryExt v0: nobody sponsors the entry


class Entry:
    """One ledger entry: data (decoded lazily from bytes), last modifier, TTL."""

    __slots__ = ("_data", "_bytes", "last_modified", "live_until", "ext", "derived")

    def __init__(self, data: xdr.LedgerEntryData | None, last_modified: int,
                 live_until: int | None = None, data_bytes: bytes | None = None, ext: bytes = EXT_V0):
        self._data = data
        self._bytes = data_bytes
        self.last_modified = last_modified
        self.live_until = live_until
        self.ext = ext  # LedgerEntryExt XDR
        self.derived = None  # a decoded view of the data that a reader caches (e.g. instance storage)

    @property
    def data(self) -> xdr.LedgerEntryData:
        if self._data is None:
            self._data = xdr.LedgerEntryData.from_xdr_bytes(self._bytes)
        return self._data

    @property
    def data_bytes(self) -> bytes:
        if self._bytes is None:
            self._bytes = self.data.to_xdr_bytes()
        return self._bytes

    def ledger_entry(self) -> xdr.LedgerEntry:
        """The full LedgerEntry, as meta and stateChanges carry it."""
        return xdr.LedgerEntry(xdr.Uint32(self.last_modified), self.data, xdr.LedgerEntryExt.from_xdr_bytes(self.ext))

    def same_data(self, other: "Entry") -> bool:
        """Whether two entries share their data object (one is a TTL change of the other)."""
        return ((self._bytes is not None and self._bytes is other._bytes)
                or (self._data is not None and self._data is other._data))

    def with_ttl(self, live_until: int) -> "Entry":
        """The same entry living until another ledger (a TTL change leaves the data untouched)."""
        entry = Entry(self._data, self.last_modified, live_until, self._bytes, self.ext)
        entry.derived = self.derived
        return entry


_CACHE = 1 << 16


@lru_cache(maxsize=_CACHE)
def account_id(address: str) -> xdr.AccountID:
    """The AccountID of a G... address."""
    return Keypair.from_public_key(address).xdr_account_id()


@lru_cache(maxsize=_CACHE)
def g_address(raw: bytes) -> str:
    """The G... strkey of a raw ed25519 key."""
    return StrKey.encode_ed25519_public_key(raw)


@lru_cache(maxsize=_CACHE)
def c_address(raw: bytes) -> str:
    """The C... strkey of a raw contract hash."""
    return StrKey.encode_contract(raw)


@lru_cache(maxsize=_CACHE)
def raw_key(address: str) -> bytes:
    """The raw ed25519 key of a G... address."""
    return StrKey.decode_ed25519_public_key(address)


def account_address(account: xdr.AccountID) -> str:
    """The G... address of an AccountID."""
    return g_address(account.account_id.ed25519.uint256)


def muxed_address(muxed: xdr.MuxedAccount) -> str:
    """The underlying G... address of a (possibly muxed) account."""
    if muxed.type == xdr.CryptoKeyType.KEY_TYPE_ED25519:
        return g_address(muxed.ed25519.uint256)
    return g_address(muxed.med25519.ed25519.uint256)


def address_of(address: xdr.SCAddress) -> str:
    """The strkey of an SCAddress (G... or C...)."""
    if address.type == xdr.SCAddressType.SC_ADDRESS_TYPE_ACCOUNT:
        return g_address(address.account_id.account_id.ed25519.uint256)
    if address.type == xdr.SCAddressType.SC_ADDRESS_TYPE_CONTRACT:
        return c_address(address.contract_id.contract_id.hash)
    return Address.from_xdr_sc_address(address).address


def key_bytes(key: xdr.LedgerKey) -> bytes:
    return key.to_xdr_bytes()


@lru_cache(maxsize=_CACHE)
def account_key(address: str) -> xdr.LedgerKey:
    return xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT,
                         account=xdr.LedgerKeyAccount(account_id(address)))


def trustline_asset(asset: Asset) -> xdr.TrustLineAsset:
    return xdr.TrustLineAsset.from_xdr_bytes(asset.to_xdr_object().to_xdr_bytes())


@lru_cache(maxsize=_CACHE)
def account_key_bytes(address: str) -> bytes:
    return account_key(address).to_xdr_bytes()


@lru_cache(maxsize=_CACHE)
def trustline_key(address: str, asset: Asset) -> xdr.LedgerKey:
    return xdr.LedgerKey(type=xdr.LedgerEntryType.TRUSTLINE,
                         trust_line=xdr.LedgerKeyTrustLine(account_id(address), trustline_asset(asset)))


@lru_cache(maxsize=_CACHE)
def trustline_key_bytes(address: str, asset: Asset) -> bytes:
    return trustline_key(address, asset).to_xdr_bytes()


def operation_balance_id(source: str, seq: int, op_index: int) -> xdr.ClaimableBalanceID:
    """The ID of the balance an operation creates: SHA-256 of HashIDPreimage ENVELOPE_TYPE_OP_ID, as core does."""
    preimage = xdr.HashIDPreimage(xdr.EnvelopeType.ENVELOPE_TYPE_OP_ID, operation_id=xdr.HashIDPreimageOperationID(
        account_id(source), xdr.SequenceNumber(xdr.Int64(seq)), xdr.Uint32(op_index)))
    return xdr.ClaimableBalanceID(xdr.ClaimableBalanceIDType.CLAIMABLE_BALANCE_ID_TYPE_V0,
                                  xdr.Hash(hashlib.sha256(preimage.to_xdr_bytes()).digest()))


def balance_address(balance_id: xdr.ClaimableBalanceID) -> str:
    """The B... strkey of a claimable balance (its address in CAP-67 events)."""
    return StrKey.encode_claimable_balance(b"\x00" + balance_id.v0.hash)


def claimable_balance_key(balance_id: xdr.ClaimableBalanceID) -> xdr.LedgerKey:
    return xdr.LedgerKey(type=xdr.LedgerEntryType.CLAIMABLE_BALANCE,
                         claimable_balance=xdr.LedgerKeyClaimableBalance(balance_id))


def new_claimable_balance(balance_id: xdr.ClaimableBalanceID, claimants: list[xdr.Claimant], asset: xdr.Asset,
                          amount: int) -> xdr.LedgerEntryData:
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.CLAIMABLE_BALANCE, claimable_balance=xdr.ClaimableBalanceEntry(
        balance_id=balance_id, claimants=claimants, asset=asset, amount=xdr.Int64(amount),
        ext=xdr.ClaimableBalanceEntryExt(0)))


def ttl_key_hash(key: bytes) -> bytes:
    """The TTL entry's key hash of a contract data/code LedgerKey."""
    return hashlib.sha256(key).digest()


def new_account(address: str, balance: int, seq: int) -> xdr.LedgerEntryData:
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.ACCOUNT, account=xdr.AccountEntry(
        account_id=account_id(address), balance=xdr.Int64(balance),
        seq_num=xdr.SequenceNumber(xdr.Int64(seq)), num_sub_entries=xdr.Uint32(0),
        inflation_dest=None, flags=xdr.Uint32(0), home_domain=xdr.String32(b""),
        thresholds=xdr.Thresholds(b"\x01\x00\x00\x00"), signers=[], ext=xdr.AccountEntryExt(0)))


def account_balance(data: xdr.LedgerEntryData) -> int:
    return data.account.balance.int64


def account_seq(data: xdr.LedgerEntryData) -> int:
    return data.account.seq_num.sequence_number.int64


def sponsorship(data: xdr.LedgerEntryData) -> tuple[int, int]:
    """(numSponsored, numSponsoring) of an account: 0, 0 until its AccountEntry ext reaches v2."""
    ext = data.account.ext
    if ext.v == 1 and ext.v1.ext.v == 2:
        v2 = ext.v1.ext.v2
        return v2.num_sponsored.uint32, v2.num_sponsoring.uint32
    return 0, 0


def min_balance(data: xdr.LedgerEntryData) -> int:
    """The account's reserve, as core computes it: (2 + subentries + numSponsoring - numSponsored) base reserves."""
    sponsored, sponsoring = sponsorship(data)
    return (2 + data.account.num_sub_entries.uint32 + sponsoring - sponsored) * BASE_RESERVE


def _with_sponsoring(account: xdr.AccountEntry, delta: int) -> xdr.AccountEntryExt:
    """The account's ext with numSponsoring moved by `delta`, upgraded to v1/v2 as core does on first use."""
    ext = account.ext
    v1 = ext.v1 if ext.v == 1 else xdr.AccountEntryExtensionV1(
        xdr.Liabilities(xdr.Int64(0), xdr.Int64(0)), xdr.AccountEntryExtensionV1Ext(0))
    if v1.ext.v == 2:
        v2 = copy.copy(v1.ext.v2)
    else:
        v2 = xdr.AccountEntryExtensionV2(xdr.Uint32(0), xdr.Uint32(0),
                                         [xdr.SponsorshipDescriptor(None) for _ in account.signers],
                                         xdr.AccountEntryExtensionV2Ext(0))
    v2.num_sponsoring = xdr.Uint32(v2.num_sponsoring.uint32 + delta)
    return xdr.AccountEntryExt(1, xdr.AccountEntryExtensionV1(v1.liabilities, xdr.AccountEntryExtensionV1Ext(2, v2)))


def with_account(data: xdr.LedgerEntryData, balance: int | None = None, seq: int | None = None,
                 sub_entries_delta: int = 0, sponsoring_delta: int = 0) -> xdr.LedgerEntryData:
    """A copy of an account entry with a new balance, sequence number, subentry or sponsoring count."""
    account = copy.copy(data.account)
    if balance is not None:
        account.balance = xdr.Int64(balance)
    if seq is not None:
        account.seq_num = xdr.SequenceNumber(xdr.Int64(seq))
    if sub_entries_delta:
        account.num_sub_entries = xdr.Uint32(account.num_sub_entries.uint32 + sub_entries_delta)
    if sponsoring_delta:
        account.ext = _with_sponsoring(account, sponsoring_delta)
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.ACCOUNT, account=account)


def sponsored_by(sponsor: str) -> bytes:
    """LedgerEntryExt v1 XDR naming the account that sponsors an entry's reserve."""
    return xdr.LedgerEntryExt(1, xdr.LedgerEntryExtensionV1(
        xdr.SponsorshipDescriptor(account_id(sponsor)), xdr.LedgerEntryExtensionV1Ext(0))).to_xdr_bytes()


def sponsor_of(entry: Entry) -> str | None:
    """The G... account sponsoring an entry's reserve, or None."""
    if entry.ext == EXT_V0:
        return None
    descriptor = xdr.LedgerEntryExt.from_xdr_bytes(entry.ext).v1.sponsoring_id.sponsorship_descriptor
    return account_address(descriptor) if descriptor is not None else None


def new_trustline(address: str, asset: Asset, limit: int) -> xdr.LedgerEntryData:
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.TRUSTLINE, trust_line=xdr.TrustLineEntry(
        account_id=account_id(address), asset=trustline_asset(asset), balance=xdr.Int64(0),
        limit=xdr.Int64(limit), flags=xdr.Uint32(AUTHORIZED_FLAG), ext=xdr.TrustLineEntryExt(0)))


def with_trustline(data: xdr.LedgerEntryData, balance: int | None = None,
                   limit: int | None = None) -> xdr.LedgerEntryData:
    line = copy.copy(data.trust_line)
    if balance is not None:
        line.balance = xdr.Int64(balance)
    if limit is not None:
        line.limit = xdr.Int64(limit)
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.TRUSTLINE, trust_line=line)


@lru_cache(maxsize=_CACHE)
def address_scval(address: str) -> xdr.SCVal:
    """`scval.to_address`, cached (callers must not mutate the result)."""
    return xdr.SCVal(xdr.SCValType.SCV_ADDRESS, address=sc_address(address))


@lru_cache(maxsize=_CACHE)
def sc_address(address: str) -> xdr.SCAddress:
    return Address(address).to_xdr_sc_address()


def contract_data_key(contract: xdr.SCAddress, key: xdr.SCVal, temporary: bool) -> xdr.LedgerKey:
    durability = (xdr.ContractDataDurability.TEMPORARY if temporary
                  else xdr.ContractDataDurability.PERSISTENT)
    return xdr.LedgerKey(type=xdr.LedgerEntryType.CONTRACT_DATA,
                         contract_data=xdr.LedgerKeyContractData(contract, key, durability))


def contract_data(contract: xdr.SCAddress, key: xdr.SCVal, temporary: bool,
                  val: xdr.SCVal) -> xdr.LedgerEntryData:
    durability = (xdr.ContractDataDurability.TEMPORARY if temporary
                  else xdr.ContractDataDurability.PERSISTENT)
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.CONTRACT_DATA, contract_data=xdr.ContractDataEntry(
        ext=xdr.ExtensionPoint(0), contract=contract, key=key, durability=durability, val=val))


INSTANCE_KEY = xdr.SCVal(xdr.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE)


def instance_key(contract: xdr.SCAddress) -> xdr.LedgerKey:
    return contract_data_key(contract, INSTANCE_KEY, temporary=False)


@lru_cache(maxsize=1024)
def instance_key_of(contract: str) -> tuple[bytes, xdr.LedgerKey]:
    """(XDR bytes, LedgerKey) of a contract's instance entry."""
    key = instance_key(sc_address(contract))
    return key.to_xdr_bytes(), key


def contract_code_key(code_hash: bytes) -> xdr.LedgerKey:
    return xdr.LedgerKey(type=xdr.LedgerEntryType.CONTRACT_CODE,
                         contract_code=xdr.LedgerKeyContractCode(xdr.Hash(code_hash)))


@lru_cache(maxsize=1024)
def contract_code_key_of(code_hash: bytes) -> tuple[bytes, xdr.LedgerKey]:
    """(XDR bytes, LedgerKey) of a contract code entry."""
    key = contract_code_key(code_hash)
    return key.to_xdr_bytes(), key


def contract_code(code: bytes) -> xdr.LedgerEntryData:
    return xdr.LedgerEntryData(type=xdr.LedgerEntryType.CONTRACT_CODE, contract_code=xdr.ContractCodeEntry(
        ext=xdr.ContractCodeEntryExt(0), hash=xdr.Hash(hashlib.sha256(code).digest()), code=code))


def key_of(data: xdr.LedgerEntryData) -> xdr.LedgerKey:
    """The LedgerKey that addresses an entry."""
    t = data.type
    if t == xdr.LedgerEntryType.ACCOUNT:
        return xdr.LedgerKey(type=t, account=xdr.LedgerKeyAccount(data.account.account_id))
    if t == xdr.LedgerEntryType.TRUSTLINE:
        return xdr.LedgerKey(type=t, trust_line=xdr.LedgerKeyTrustLine(
            data.trust_line.account_id, data.trust_line.asset))
    if t == xdr.LedgerEntryType.CONTRACT_DATA:
        d = data.contract_data
        return xdr.LedgerKey(type=t, contract_data=xdr.LedgerKeyContractData(d.contract, d.key, d.durability))
    if t == xdr.LedgerEntryType.CONTRACT_CODE:
        return xdr.LedgerKey(type=t, contract_code=xdr.LedgerKeyContractCode(data.contract_code.hash))
    if t == xdr.LedgerEntryType.CLAIMABLE_BALANCE:
        return claimable_balance_key(data.claimable_balance.balance_id)
    raise ValueError(f"unsupported entry type {t}")


def ttl_entry(key: bytes, live_until: int, last_modified: int) -> xdr.LedgerEntry:
    """The TTL LedgerEntry that goes with a contract data/code entry (for meta)."""
    return xdr.LedgerEntry(xdr.Uint32(last_modified), xdr.LedgerEntryData(
        type=xdr.LedgerEntryType.TTL,
        ttl=xdr.TTLEntry(xdr.Hash(ttl_key_hash(key)), xdr.Uint32(live_until))), xdr.LedgerEntryExt(0))


def ttl_ledger_key(key: bytes) -> xdr.LedgerKey:
    return xdr.LedgerKey(type=xdr.LedgerEntryType.TTL, ttl=xdr.LedgerKeyTtl(xdr.Hash(ttl_key_hash(key))))
