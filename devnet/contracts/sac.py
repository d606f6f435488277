"""The Stellar Asset Contract for a credit asset: balance, transfer, mint, burn and metadata.

Balances of G... holders live in their trustlines, those of C... holders in
persistent `Balance(Address)` entries. Events follow protocol 23 (CAP-67):
`[transfer, from, to, asset]`, `[mint, to, asset]`, `[burn, from, asset]`, data i128;
a transfer out of the issuer is a mint, into the issuer a burn.
"""
from __future__ import annotations

from functools import lru_cache

from stellar_sdk import Asset, StrKey, scval, xdr

from devnet import entries as E
from devnet.assets import AssetError, adjust, asset_string, trustline_balance
from devnet.host import DataKey, Host, HostError, StorageKey, value_error

DECIMALS = 7
# soroban-env-host's ContractError for the asset contract
ACCOUNT_MISSING = 6
NEGATIVE_AMOUNT = 8
BALANCE = 10
TRUSTLINE_MISSING = 13

_ASSET_INFO = StorageKey(scval.to_enum("AssetInfo", None))
_ADMIN = StorageKey(scval.to_enum("Admin", None))
_METADATA = StorageKey(scval.to_symbol("METADATA"))
_MINT, _BURN, _TRANSFER = scval.to_symbol("mint"), scval.to_symbol("burn"), scval.to_symbol("transfer")


def instance_storage(asset: Asset, admin: str) -> list[tuple[xdr.SCVal, xdr.SCVal]]:
    """The SAC instance storage: asset info, admin and metadata (name, symbol, decimals)."""
    info = scval.to_enum("AlphaNum4", scval.to_struct({
        "asset_code": scval.to_string(asset.code),
        "issuer": scval.to_bytes(StrKey.decode_ed25519_public_key(asset.issuer))}))
    metadata = scval.to_struct({"decimal": scval.to_uint32(DECIMALS),
                                "name": scval.to_string(asset_string(asset)),
                                "symbol": scval.to_string(asset.code)})
    return [(_ASSET_INFO.val, info), (_ADMIN.val, scval.to_address(admin)), (_METADATA.val, metadata)]


@lru_cache(maxsize=256)
def _asset_of(info_xdr: bytes) -> tuple[Asset, xdr.SCVal]:
    """The asset an AssetInfo value names, and its SEP-11 name as an ScVal."""
    _, fields = scval.from_enum(xdr.SCVal.from_xdr_bytes(info_xdr))
    info = scval.from_struct(fields)
    asset = Asset(scval.from_string(info["asset_code"]).decode(),
                  StrKey.encode_ed25519_public_key(scval.from_bytes(info["issuer"])))
    return asset, scval.to_string(asset_string(asset))


@lru_cache(maxsize=1 << 16)
def _contract_balance_key(contract: str, holder: str) -> DataKey:
    return DataKey(contract, scval.to_enum("Balance", [scval.to_address(holder)]), temporary=False)


def _address(value: xdr.SCVal) -> str:
    if value.type != xdr.SCValType.SCV_ADDRESS:
        raise value_error("expected an Address")
    return E.address_of(value.address)


def _amount(value: xdr.SCVal) -> int:
    if value.type != xdr.SCValType.SCV_I128:
        raise value_error("expected an i128 amount")
    amount = scval.from_int128(value)
    if amount < 0:
        raise HostError.contract(NEGATIVE_AMOUNT, "negative amount is not allowed")
    return amount


def _balance(host: Host, asset: Asset, holder: str) -> int:
    if holder.startswith("C"):
        value = host.get_data(_contract_balance_key(host.stack[-1].contract, holder))
        return 0 if value is None else scval.from_int128(scval.from_struct(value)["amount"])
    return trustline_balance(host, holder, asset) or 0


def _change(host: Host, asset: Asset, holder: str, delta: int) -> None:
    if holder.startswith("C"):
        balance = _balance(host, asset, holder) + delta
        if balance < 0:
            raise HostError.contract(BALANCE, "balance is not sufficient to spend")
        host.set_data(_contract_balance_key(host.stack[-1].contract, holder), scval.to_struct({
            "amount": scval.to_int128(balance), "authorized": scval.to_bool(True),
            "clawback": scval.to_bool(False)}))
        return
    try:
        adjust(host, holder, asset, delta)
    except AssetError as exc:
        if exc.reason == "no_trust":
            raise HostError.contract(TRUSTLINE_MISSING, "trustline entry is missing for account") from None
        raise HostError.contract(BALANCE, "balance is not sufficient to spend" if delta < 0
                                 else "balance would exceed the trustline limit") from None


def _move(host: Host, asset: Asset, source: str, destination: str, amount: int) -> None:
    _change(host, asset, source, -amount)
    _change(host, asset, destination, amount)
    name = _asset_of(host.get_instance_xdr(_ASSET_INFO))[1]
    if source == asset.issuer:
        host.emit([_MINT, E.address_scval(destination), name], scval.to_int128(amount))
    elif destination == asset.issuer:
        host.emit([_BURN, E.address_scval(source), name], scval.to_int128(amount))
    else:
        host.emit([_TRANSFER, E.address_scval(source), E.address_scval(destination), name],
                  scval.to_int128(amount))


def call(host: Host, function: str, args: list[xdr.SCVal]) -> xdr.SCVal:
    """Dispatch one SAC function."""
    asset, name = _asset_of(host.get_instance_xdr(_ASSET_INFO))
    arity = {"balance": 1, "transfer": 3, "mint": 2, "burn": 2, "decimals": 0, "name": 0,
             "symbol": 0, "admin": 0, "authorized": 1, "allowance": 2}
    if function not in arity:
        raise HostError.of(xdr.SCErrorType.SCE_WASM_VM, xdr.SCErrorCode.SCEC_MISSING_VALUE,
                           f"asset contract has no function {function}")
    if len(args) != arity[function]:
        raise value_error(f"{function} takes {arity[function]} arguments")
    if function == "balance":
        return scval.to_int128(_balance(host, asset, _address(args[0])))
    if function == "transfer":
        source, destination, amount = _address(args[0]), _address(args[1]), _amount(args[2])
        host.require_auth(source)
        _move(host, asset, source, destination, amount)
    elif function == "mint":
        destination, amount = _address(args[0]), _amount(args[1])
        host.require_auth(E.address_of(host.get_instance(_ADMIN).address))
        _change(host, asset, destination, amount)
        host.emit([_MINT, E.address_scval(destination), name], scval.to_int128(amount))
    elif function == "burn":
        source, amount = _address(args[0]), _amount(args[1])
        host.require_auth(source)
        _change(host, asset, source, -amount)
        host.emit([_BURN, E.address_scval(source), name], scval.to_int128(amount))
    elif function == "decimals":
        return scval.to_uint32(DECIMALS)
    elif function == "name":
        return name
    elif function == "symbol":
        return scval.to_string(asset.code)
    elif function == "admin":
        return host.get_instance(_ADMIN)
    elif function == "authorized":
        return scval.to_bool(True)
    elif function == "allowance":
        return scval.to_int128(0)
    return scval.to_void()
