"""Soroban invocation: contract dispatch, storage with footprint recording or enforcement, auth, events.

One `Host` runs one InvokeHostFunction. In simulation it records the footprint
and (in `record` auth mode) the authorization tree; when applying it enforces the
declared footprint and checks every auth entry (source-account credentials, or
address credentials with an ed25519 signature over the network-bound payload and
a one-time nonce). Contract failures raise `HostError` carrying the SCError.
"""
from __future__ import annotations

import copy
import hashlib
import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from stellar_sdk import StrKey, scval, xdr

from devnet import entries as E
from devnet.events import DIAGNOSTIC, Event
from devnet.state import View, is_archived, is_temporary_key

_ERROR_TYPE_NAMES = {
    0: "Contract", 1: "WasmVm", 2: "Context", 3: "Storage", 4: "Object", 5: "Crypto",
    6: "Events", 7: "Budget", 8: "Value", 9: "Auth"}
_ERROR_CODE_NAMES = {
    0: "ArithDomain", 1: "IndexBounds", 2: "InvalidInput", 3: "MissingValue", 4: "ExistingValue",
    5: "ExceededLimit", 6: "InvalidAction", 7: "InternalError", 8: "UnexpectedType",
    9: "UnexpectedSize"}
INSTRUCTIONS_PER_CALL = 1_000_000


class HostError(Exception):
    """A failed invocation: the SCError the real host would report, and why."""

    def __init__(self, error: xdr.SCError, reason: str = ""):
        self.error = error
        self.reason = reason
        super().__init__(str(self))

    @classmethod
    def contract(cls, code: int, reason: str = "") -> "HostError":
        return cls(xdr.SCError(xdr.SCErrorType.SCE_CONTRACT, contract_code=xdr.Uint32(int(code))), reason)

    @classmethod
    def of(cls, kind: xdr.SCErrorType, code: xdr.SCErrorCode, reason: str) -> "HostError":
        return cls(xdr.SCError(kind, code=code), reason)

    def __str__(self) -> str:
        kind = _ERROR_TYPE_NAMES[self.error.type.value]
        if self.error.type == xdr.SCErrorType.SCE_CONTRACT:
            return f"Error(Contract, #{self.error.contract_code.uint32})"
        return f"Error({kind}, {_ERROR_CODE_NAMES[self.error.code.value]})"


def auth_error(reason: str) -> HostError:
    return HostError.of(xdr.SCErrorType.SCE_AUTH, xdr.SCErrorCode.SCEC_INVALID_ACTION, reason)


def storage_error(reason: str) -> HostError:
    return HostError.of(xdr.SCErrorType.SCE_STORAGE, xdr.SCErrorCode.SCEC_EXCEEDED_LIMIT, reason)


def value_error(reason: str) -> HostError:
    return HostError.of(xdr.SCErrorType.SCE_VALUE, xdr.SCErrorCode.SCEC_UNEXPECTED_TYPE, reason)


@dataclass(frozen=True)
class LedgerInfo:
    """What a contract sees of the ledger it runs in, and the network's TTL settings."""

    seq: int
    timestamp: int
    network_id: bytes
    temp_ttl: int
    persistent_ttl: int
    max_ttl: int


class StorageKey:
    """An instance-storage key with its XDR bytes computed once."""

    __slots__ = ("val", "xdr")

    def __init__(self, val: xdr.SCVal):
        self.val = val
        self.xdr = val.to_xdr_bytes()


class DataKey:
    """A contract-data entry's key: the contract, the storage key ScVal, durability and the LedgerKey bytes."""

    __slots__ = ("contract", "val", "temporary", "ledger_key", "xdr", "entry_prefix")

    def __init__(self, contract: str, val: xdr.SCVal, temporary: bool):
        self.contract = contract
        self.val = val
        self.temporary = temporary
        self.ledger_key = E.contract_data_key(E.sc_address(contract), val, temporary)
        self.xdr = self.ledger_key.to_xdr_bytes()
        # LedgerEntryData XDR of this entry up to its value: the entry is prefix + value XDR
        self.entry_prefix = E.contract_data(E.sc_address(contract), val, temporary,
                                            xdr.SCVal(xdr.SCValType.SCV_VOID)).to_xdr_bytes()[:-4]


class _AuthNode:
    """One authorized invocation: recorded (children appended) or declared (children consumed)."""

    __slots__ = ("function", "children", "used")

    def __init__(self, function: xdr.SorobanAuthorizedFunction, children: list | None = None):
        self.function = function
        self.children: list[_AuthNode] = children or []
        self.used = False

    @classmethod
    def from_xdr(cls, inv: xdr.SorobanAuthorizedInvocation) -> "_AuthNode":
        return cls(inv.function, [cls.from_xdr(c) for c in inv.sub_invocations])

    def to_xdr(self) -> xdr.SorobanAuthorizedInvocation:
        return xdr.SorobanAuthorizedInvocation(self.function, [c.to_xdr() for c in self.children])

    def take_child(self, function_bytes: bytes) -> "_AuthNode | None":
        for child in self.children:
            if not child.used and child.function.to_xdr_bytes() == function_bytes:
                child.used = True
                return child
        return None


class Frame:
    """One contract call on the host's stack, with its instance storage loaded."""

    __slots__ = ("contract", "address", "function", "args", "instance_key", "executable", "executable_xdr",
                 "storage", "dirty", "auth")

    def __init__(self, contract: str, address: xdr.SCAddress, function: str, args: list[xdr.SCVal]):
        self.contract = contract
        self.address = address
        self.function = function
        self.args = args
        self.instance_key = b""
        self.executable: xdr.ContractExecutable | None = None
        self.executable_xdr = b""
        # key XDR -> (key, value ScVal or None, value XDR or None, decoded value or None)
        self.storage: dict[bytes, tuple] = {}
        self.dirty = False
        self.auth: dict[str, _AuthNode] = {}

    def authorized_function(self, args: list[xdr.SCVal] | None = None) -> xdr.SorobanAuthorizedFunction:
        """This call as an authorized function (with `args` in place of its own: require_auth_for_args)."""
        return xdr.SorobanAuthorizedFunction(
            type=xdr.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
            contract_fn=xdr.InvokeContractArgs(self.address, xdr.SCSymbol(self.function.encode()),
                                               self.args if args is None else args))


# executable -> implementation: call(host, function, args) -> SCVal
Executable = Callable[["Host", str, list], xdr.SCVal]


class Host:
    """Runs one invocation against a View: records or enforces footprint and auth."""

    def __init__(self, view: View, ledger: LedgerInfo, source: str, *,
                 wasm: dict[bytes, Executable], asset_contract: Executable,
                 footprint: tuple[set[bytes], set[bytes]] | None,
                 auth: list[xdr.SorobanAuthorizationEntry] | None, verify_signatures: bool = True):
        self.view = view
        self.ledger = ledger
        self.source = source
        self.wasm = wasm
        self.asset_contract = asset_contract
        self.recording = footprint is None
        self.footprint_ro, self.footprint_rw = footprint if footprint else (set(), set())
        self.recorded_keys: dict[bytes, xdr.LedgerKey] = {}
        self.recorded_rw: set[bytes] = set()
        self.recording_auth = auth is None
        self.declared_auth = [(entry, _AuthNode.from_xdr(entry.root_invocation)) for entry in auth or []]
        self.recorded_auth: list[tuple[str, _AuthNode]] = []
        self.verify_signatures = verify_signatures
        self.stack: list[Frame] = []
        self.events: list[Event] = []
        self.calls = 0

    # -- storage -------------------------------------------------------------------------------
    def _access(self, key: bytes, key_obj: xdr.LedgerKey | Callable[[], xdr.LedgerKey], write: bool) -> None:
        if self.recording:
            if key not in self.recorded_keys:
                self.recorded_keys[key] = key_obj() if callable(key_obj) else key_obj
            if write:
                self.recorded_rw.add(key)
            return
        if write and key not in self.footprint_rw:
            raise storage_error("write outside the footprint's readWrite set")
        if key not in self.footprint_rw and key not in self.footprint_ro:
            raise storage_error("access outside the footprint")

    def read(self, key: bytes, key_obj, write_intent: bool = False) -> E.Entry | None:
        """The live entry under `key` (None if missing or expired), checked against the footprint."""
        self._access(key, key_obj, write_intent)
        entry = self.view.get(key)
        if entry is not None and is_archived(key, entry, self.ledger.seq):
            raise HostError.of(xdr.SCErrorType.SCE_STORAGE, xdr.SCErrorCode.SCEC_INVALID_ACTION,
                               "entry is archived and must be restored")
        return entry

    def write(self, key: bytes, key_obj, data: xdr.LedgerEntryData | None, ttl: int | None = None,
              data_xdr: bytes | None = None, derived=None) -> None:
        """Create or update an entry (as data or its XDR); new contract data gets its durability's minimum TTL."""
        self._access(key, key_obj, True)
        old = self.view.get(key)
        live_until = old.live_until if old is not None else None
        if live_until is None and key[:4] == _CONTRACT_DATA:
            ttl = ttl or (self.ledger.temp_ttl if is_temporary_key(key) else self.ledger.persistent_ttl)
            live_until = self.ledger.seq + ttl - 1
        entry = E.Entry(data, self.ledger.seq, live_until, data_xdr)
        entry.derived = derived
        self.view.put(key, entry)

    def remove(self, key: bytes, key_obj) -> None:
        self._access(key, key_obj, True)
        self.view.delete(key)

    def extend_ttl(self, key: bytes, threshold: int, extend_to: int) -> None:
        """Soroban's extend_ttl: if the entry lives fewer than `threshold` more ledgers, extend to `extend_to`."""
        entry = self.view.get(key)
        if entry is None or entry.live_until is None:
            return
        if entry.live_until - self.ledger.seq < threshold:
            target = self.ledger.seq + min(extend_to, self.ledger.max_ttl)
            if target > entry.live_until:
                self._access(key, None, False)
                self.view.put(key, entry.with_ttl(target))

    # -- contract data of the running contract ---------------------------------------------------
    def _own(self, key: DataKey) -> DataKey:
        if key.contract != self.stack[-1].contract:
            raise HostError.of(xdr.SCErrorType.SCE_STORAGE, xdr.SCErrorCode.SCEC_INVALID_ACTION,
                               "a contract can only use its own storage")
        return key

    def get_data(self, key: DataKey) -> xdr.SCVal | None:
        entry = self.read(self._own(key).xdr, key.ledger_key)
        return None if entry is None else entry.data.contract_data.val

    def get_decoded(self, key: DataKey, decode: Callable[[xdr.SCVal], Any]) -> Any:
        """A fresh copy of the entry's value decoded by `decode` (cached on the entry), or None."""
        entry = self.read(self._own(key).xdr, key.ledger_key)
        if entry is None:
            return None
        if entry.derived is None:
            entry.derived = decode(entry.data.contract_data.val)
        return copy.copy(entry.derived)

    def set_data(self, key: DataKey, val: xdr.SCVal) -> None:
        self.write(self._own(key).xdr, key.ledger_key,
                   E.contract_data(self.stack[-1].address, key.val, key.temporary, val))

    def set_encoded(self, key: DataKey, val_xdr: bytes, decoded: Any) -> None:
        """Store a value given as ScVal XDR, with its decoded form for the next reader."""
        self.write(self._own(key).xdr, key.ledger_key, None, data_xdr=key.entry_prefix + val_xdr,
                   derived=copy.copy(decoded))

    def remove_data(self, key: DataKey) -> None:
        self.remove(self._own(key).xdr, key.ledger_key)

    def get_instance(self, key: StorageKey) -> xdr.SCVal | None:
        storage = self.stack[-1].storage
        item = storage.get(key.xdr)
        if item is None:
            return None
        if item[1] is None:
            item = storage[key.xdr] = (item[0], xdr.SCVal.from_xdr_bytes(item[2]), item[2], item[3])
        return item[1]

    def get_instance_xdr(self, key: StorageKey) -> bytes | None:
        storage = self.stack[-1].storage
        item = storage.get(key.xdr)
        if item is None:
            return None
        if item[2] is None:
            item = storage[key.xdr] = (item[0], item[1], item[1].to_xdr_bytes(), item[3])
        return item[2]

    def get_instance_decoded(self, key: StorageKey, decode: Callable[[xdr.SCVal], Any]) -> Any:
        """A fresh copy of an instance value decoded by `decode` (cached), or None."""
        storage = self.stack[-1].storage
        if key.xdr not in storage:
            return None
        item = storage[key.xdr]
        if item[3] is None:
            item = storage[key.xdr] = (item[0], item[1], item[2], decode(self.get_instance(key)))
        return copy.copy(item[3])

    def set_instance(self, key: StorageKey, val: xdr.SCVal) -> None:
        frame = self.stack[-1]
        frame.storage[key.xdr] = (key.val, val, None, None)
        frame.dirty = True

    def set_instance_encoded(self, key: StorageKey, val_xdr: bytes, decoded: Any) -> None:
        frame = self.stack[-1]
        frame.storage[key.xdr] = (key.val, None, val_xdr, copy.copy(decoded))
        frame.dirty = True

    def extend_instance_ttl(self, threshold: int, extend_to: int) -> None:
        self.extend_ttl(self.stack[-1].instance_key, threshold, extend_to)

    # -- calls ------------------------------------------------------------------------------------
    def invoke(self, args: xdr.InvokeContractArgs) -> xdr.SCVal:
        """Run the op's top-level contract call (reserved `__` functions only the host may call)."""
        if args.function_name.sc_symbol.startswith(b"__"):
            raise HostError.of(xdr.SCErrorType.SCE_CONTEXT, xdr.SCErrorCode.SCEC_INVALID_ACTION,
                               "reserved functions (__check_auth, __constructor) cannot be invoked directly")
        return self.call(E.address_of(args.contract_address), args.function_name.sc_symbol.decode(), list(args.args))

    def call(self, contract: str, function: str, args: list[xdr.SCVal]) -> xdr.SCVal:
        """Call `function(args)` on `contract` (a C... strkey), as the running contract or the tx."""
        self.calls += 1
        frame = Frame(contract, E.sc_address(contract), function, args)
        frame.instance_key, lk = E.instance_key_of(contract)
        entry = self.read(frame.instance_key, lk)
        if entry is None:
            raise HostError.of(xdr.SCErrorType.SCE_STORAGE, xdr.SCErrorCode.SCEC_MISSING_VALUE,
                               f"contract {contract} does not exist")
        if entry.derived is None:
            instance = entry.data.contract_data.val.instance
            entry.derived = (instance.executable, instance.executable.to_xdr_bytes(),
                             {item.key.to_xdr_bytes(): (item.key, item.val, None, None)
                              for item in (instance.storage.sc_map if instance.storage else [])})
        frame.executable, frame.executable_xdr, storage = entry.derived
        frame.storage = dict(storage)
        if frame.executable.type == xdr.ContractExecutableType.CONTRACT_EXECUTABLE_STELLAR_ASSET:
            implementation = self.asset_contract
        else:
            code_hash = frame.executable.wasm_hash.hash
            code_key_bytes, code_key = E.contract_code_key_of(code_hash)
            if self.read(code_key_bytes, code_key) is None or code_hash not in self.wasm:
                raise HostError.of(xdr.SCErrorType.SCE_STORAGE, xdr.SCErrorCode.SCEC_MISSING_VALUE,
                                   "contract code is missing")
            implementation = self.wasm[code_hash]
        self.stack.append(frame)
        try:
            result = implementation(self, function, args)
            if frame.dirty:
                self._write_instance(frame)
        finally:
            self.stack.pop()
        return result

    def update_current_contract_wasm(self, code_hash: bytes) -> None:
        """deployer().update_current_contract_wasm: the running contract's code becomes the
        uploaded Wasm `code_hash` (missing code is a storage error)."""
        code_key_bytes, code_key = E.contract_code_key_of(code_hash)
        if self.read(code_key_bytes, code_key) is None:
            raise HostError.of(xdr.SCErrorType.SCE_STORAGE, xdr.SCErrorCode.SCEC_MISSING_VALUE,
                               "contract code is missing")
        frame = self.stack[-1]
        frame.executable = xdr.ContractExecutable(xdr.ContractExecutableType.CONTRACT_EXECUTABLE_WASM,
                                                  wasm_hash=xdr.Hash(code_hash))
        frame.executable_xdr = frame.executable.to_xdr_bytes()
        frame.dirty = True

    def _write_instance(self, frame: Frame) -> None:
        """Write the instance entry as XDR assembled from each item's cached bytes (decoded lazily if read)."""
        items = sorted(((kb, key, val, vb if vb is not None else val.to_xdr_bytes(), decoded)
                        for kb, (key, val, vb, decoded) in frame.storage.items()), key=lambda item: _order(item[1]))
        data_bytes = (_instance_prefix(frame.contract, frame.executable_xdr) + _PRESENT
                      + _U32(len(items)) + b"".join(item[0] + item[3] for item in items))
        current = self.view.get(frame.instance_key)
        self._access(frame.instance_key, None, True)
        entry = E.Entry(None, self.ledger.seq, current.live_until if current else None, data_bytes)
        entry.derived = (frame.executable, frame.executable_xdr,
                         {kb: (key, val, vb, decoded) for kb, key, val, vb, decoded in items})
        self.view.put(frame.instance_key, entry)

    def emit(self, topics: list[xdr.SCVal], data: xdr.SCVal) -> None:
        """Publish a contract event from the running contract."""
        self.events.append(Event.of(self.stack[-1].address.contract_id.contract_id.hash, topics, data))

    # -- auth -------------------------------------------------------------------------------------
    def require_auth(self, address: str, args: list[xdr.SCVal] | None = None) -> None:
        """`address.require_auth()` inside the running contract call (`require_auth_for_args(args)`
        when `args` is given)."""
        frame = self.stack[-1]
        if address in frame.auth:
            return
        if address.startswith("C") and len(self.stack) > 1 and self.stack[-2].contract == address:
            return  # a contract authorizes the calls it makes itself
        parent = next((f.auth[address] for f in reversed(self.stack[:-1]) if address in f.auth), None)
        function = frame.authorized_function(args)
        if self.recording_auth:
            node = _AuthNode(function)
            if parent is None:
                self.recorded_auth.append((address, node))
            else:
                parent.children.append(node)
        else:
            function_bytes = function.to_xdr_bytes()
            node = (self._take_root(address, function_bytes) if parent is None
                    else parent.take_child(function_bytes))
            if node is None:
                raise auth_error(f"{address} did not authorize {frame.function}")
        frame.auth[address] = node

    def _take_root(self, address: str, function_bytes: bytes) -> _AuthNode | None:
        for entry, node in self.declared_auth:
            if node.used or node.function.to_xdr_bytes() != function_bytes:
                continue
            creds = entry.credentials
            if creds.type == xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT:
                if address != self.source:
                    continue
            elif creds.type == xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS:
                if E.address_of(creds.address.address) != address:
                    continue
                self._check_address_credentials(creds.address, entry.root_invocation, address)
            else:
                continue
            node.used = True
            return node
        return None

    def _check_address_credentials(self, creds: xdr.SorobanAddressCredentials,
                                   invocation: xdr.SorobanAuthorizedInvocation, address: str) -> None:
        seq = self.ledger.seq
        expiration = creds.signature_expiration_ledger.uint32
        if self.verify_signatures and not seq <= expiration < seq + self.ledger.max_ttl:
            raise auth_error("signature expiration ledger is out of range")
        if address.startswith("G") and self.read(E.account_key_bytes(address), E.account_key(address)) is None:
            raise auth_error("signing account does not exist")
        nonce_kb, nonce_lk = nonce_key(creds.address, creds.nonce.int64)
        if self.read(nonce_kb, nonce_lk, write_intent=True) is not None:
            raise HostError.of(xdr.SCErrorType.SCE_AUTH, xdr.SCErrorCode.SCEC_EXISTING_VALUE,
                               "nonce already used")
        payload = authorization_payload(self.ledger.network_id, creds.nonce.int64, expiration, invocation)
        if address.startswith("C"):  # a contract account: its __check_auth decides
            self.call(address, "__check_auth", [scval.to_bytes(payload), creds.signature,
                                                _contexts(invocation)])
        elif self.verify_signatures:
            verify_account_signature(address, payload, creds.signature)
        self.write(nonce_kb, nonce_lk, E.contract_data(
            creds.address, nonce_lk.contract_data.key, True, xdr.SCVal(xdr.SCValType.SCV_VOID)),
            ttl=max(expiration - seq + 1, 1))

    def recorded_auth_entries(self) -> list[xdr.SorobanAuthorizationEntry]:
        """The auth entries recorded in simulation; non-source addresses get a fresh nonce."""
        result = []
        for address, node in self.recorded_auth:
            if address == self.source:
                creds = xdr.SorobanCredentials(xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT)
            else:
                nonce = int.from_bytes(os.urandom(8), "big", signed=True)
                sc_addr = E.sc_address(address)
                creds = xdr.SorobanCredentials(
                    xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS,
                    address=xdr.SorobanAddressCredentials(sc_addr, xdr.Int64(nonce), xdr.Uint32(0),
                                                          xdr.SCVal(xdr.SCValType.SCV_VOID)))
                kb, lk = nonce_key(sc_addr, nonce)
                self._access(kb, lk, True)
                if address.startswith("G"):
                    self._access(E.account_key_bytes(address), E.account_key(address), False)
            result.append(xdr.SorobanAuthorizationEntry(creds, node.to_xdr()))
        return result


def _order(value: xdr.SCVal) -> tuple:
    """A sort key giving Soroban's ScVal order for the key types contracts here use."""
    kind = value.type
    if kind == xdr.SCValType.SCV_VEC:
        return (kind.value, tuple(_order(v) for v in value.vec.sc_vec))
    if kind == xdr.SCValType.SCV_SYMBOL:
        return (kind.value, value.sym.sc_symbol)
    if kind in (xdr.SCValType.SCV_U32, xdr.SCValType.SCV_I32, xdr.SCValType.SCV_U64, xdr.SCValType.SCV_I64,
                xdr.SCValType.SCV_I128, xdr.SCValType.SCV_U128):
        return (kind.value, scval.to_native(value))
    return (kind.value, value.to_xdr_bytes())


_U32 = struct.Struct(">I").pack
_PRESENT = _U32(1)
_CONTRACT_DATA = _U32(6)


@lru_cache(maxsize=1024)
def _instance_prefix(contract: str, executable: bytes) -> bytes:
    """An instance entry's XDR up to its storage map (which is appended item by item)."""
    val = xdr.SCVal(xdr.SCValType.SCV_CONTRACT_INSTANCE, instance=xdr.SCContractInstance(
        xdr.ContractExecutable.from_xdr_bytes(executable), None))
    return E.contract_data(E.sc_address(contract), E.INSTANCE_KEY, False, val).to_xdr_bytes()[:-4]


def sorted_map(items) -> xdr.SCMap:
    """An SCMap from (key, value) pairs, keys in Soroban order as the host stores them."""
    return xdr.SCMap([xdr.SCMapEntry(k, v) for k, v in sorted(items, key=lambda kv: _order(kv[0]))])


def _contexts(invocation: xdr.SorobanAuthorizedInvocation) -> xdr.SCVal:
    """The `Vec<Context>` __check_auth receives: the authorized contract call as Context::Contract."""
    fn = invocation.function.contract_fn
    if fn is None:
        return scval.to_vec([])
    context = scval.to_struct({"args": scval.to_vec(list(fn.args)), "contract": xdr.SCVal(
        xdr.SCValType.SCV_ADDRESS, address=fn.contract_address), "fn_name": xdr.SCVal(
        xdr.SCValType.SCV_SYMBOL, sym=fn.function_name)})
    return scval.to_vec([scval.to_enum("Contract", context)])


def nonce_key(address: xdr.SCAddress, nonce: int) -> tuple[bytes, xdr.LedgerKey]:
    """The temporary contract-data key that marks an address-credential nonce as used."""
    key = xdr.SCVal(xdr.SCValType.SCV_LEDGER_KEY_NONCE, nonce_key=xdr.SCNonceKey(xdr.Int64(nonce)))
    lk = E.contract_data_key(address, key, temporary=True)
    return lk.to_xdr_bytes(), lk


def authorization_payload(network_id: bytes, nonce: int, expiration: int,
                          invocation: xdr.SorobanAuthorizedInvocation) -> bytes:
    """sha256 of the HashIDPreimage an address signs to authorize `invocation`."""
    preimage = xdr.HashIDPreimage(
        type=xdr.EnvelopeType.ENVELOPE_TYPE_SOROBAN_AUTHORIZATION,
        soroban_authorization=xdr.HashIDPreimageSorobanAuthorization(
            xdr.Hash(network_id), xdr.Int64(nonce), xdr.Uint32(expiration), invocation))
    return hashlib.sha256(preimage.to_xdr_bytes()).digest()


def verify_account_signature(address: str, payload: bytes, signature: xdr.SCVal) -> None:
    """Check `Vec[Map{public_key, signature}]` holds a valid signature by the account's master key."""
    raw = StrKey.decode_ed25519_public_key(address)
    try:
        signatures = scval.from_vec(signature)
        found = False
        for item in signatures:
            fields = scval.from_struct(item)
            public_key = scval.from_bytes(fields["public_key"])
            sig = scval.from_bytes(fields["signature"])
            if public_key != raw:
                raise auth_error("signature by a key that is not the account's signer")
            VerifyKey(public_key).verify(payload, sig)
            found = True
    except BadSignatureError:
        raise HostError.of(xdr.SCErrorType.SCE_CRYPTO, xdr.SCErrorCode.SCEC_INVALID_INPUT,
                           "invalid signature") from None
    except HostError:
        raise
    except Exception:
        raise auth_error("malformed signature value") from None
    if not found:
        raise auth_error("no signature for the account")


def error_event(error: HostError, contract_id: bytes | None = None) -> Event:
    """The diagnostic `error` event a failed invocation leaves behind."""
    return Event.of(contract_id, [scval.to_symbol("error"), xdr.SCVal(xdr.SCValType.SCV_ERROR, error=error.error)],
                    scval.to_string(error.reason or str(error)), DIAGNOSTIC)
