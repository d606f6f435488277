"""JSON-able values read straight from XDR bytes: ints stay exact, addresses become strkeys
(cached: encoding one costs more than reading it), bytes become hex. The simple ScVal types
a farm call carries are read by hand; anything else goes through stellar_sdk.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from stellar_sdk import Address, StrKey, scval, xdr

from chain.meta import skip_scval, u32
from chain.tolerance import UnknownArm

_FIXED_INTS = {3: (4, False), 4: (4, True), 5: (8, False), 6: (8, True), 7: (8, False), 8: (8, False),
               9: (16, False), 10: (16, True), 11: (32, False), 12: (32, True)}


@lru_cache(maxsize=1 << 16)
def account(raw: bytes) -> str:
    """The G... address of a raw ed25519 key."""
    return StrKey.encode_ed25519_public_key(raw)


@lru_cache(maxsize=1024)
def contract(raw: bytes) -> str:
    """The C... address of a raw contract hash."""
    return StrKey.encode_contract(raw)


def sc_address(data: bytes, pos: int) -> str:
    """The strkey of the SCAddress at `pos`."""
    kind = u32(data, pos)
    if kind == 0 and u32(data, pos + 4) == 0:
        return account(data[pos + 8:pos + 40])
    if kind == 1:
        return contract(data[pos + 4:pos + 36])
    if kind == 5:  # protocol 30 muxed contract (CAP-84): id, then the contract it routes to
        return contract(data[pos + 12:pos + 44])
    try:
        return Address.from_xdr_sc_address(xdr.SCAddress.from_xdr_bytes(data[pos:])).address
    except Exception:  # an address type newer than the SDK
        raise UnknownArm("SCAddress", kind, pos) from None


def read_scval(data: bytes, pos: int) -> Any:
    """The JSON-able value of the SCVal at `pos`."""
    kind = u32(data, pos)
    if kind in _FIXED_INTS:
        size, signed = _FIXED_INTS[kind]
        return int.from_bytes(data[pos + 4:pos + 4 + size], "big", signed=signed)
    if kind == 1:
        return None
    if kind == 0:
        return bool(u32(data, pos + 4))
    if kind == 13:
        return data[pos + 8:pos + 8 + u32(data, pos + 4)].hex()
    if kind in (14, 15):
        return data[pos + 8:pos + 8 + u32(data, pos + 4)].decode("utf-8", "backslashreplace")
    if kind == 18:
        return sc_address(data, pos + 4)
    end = skip_scval(data, pos)
    try:
        return to_json(xdr.SCVal.from_xdr_bytes(data[pos:end]))
    except Exception:  # a value holding an arm newer than the SDK
        raise UnknownArm("SCVal", kind, pos) from None


def struct_fields(data: bytes, pos: int) -> dict[str, int]:
    """Where each field's value starts in the symbol-keyed map (a contract struct) at `pos`."""
    if u32(data, pos) != 17 or not u32(data, pos + 4):
        return {}
    fields, count, pos = {}, u32(data, pos + 8), pos + 12
    for _ in range(count):
        name = read_scval(data, pos)
        pos = skip_scval(data, pos)
        fields[str(name)] = pos
        pos = skip_scval(data, pos)
    return fields


def to_json(value: xdr.SCVal) -> Any:
    """A JSON-able form of a decoded SCVal (same conventions as read_scval)."""
    return _jsonable(scval.to_native(value))


def _jsonable(native: Any) -> Any:
    if isinstance(native, Address):
        return native.address
    if isinstance(native, (bytes, bytearray)):
        return bytes(native).hex()
    if isinstance(native, list):
        return [_jsonable(item) for item in native]
    if isinstance(native, dict):
        return {str(_jsonable(k)): _jsonable(v) for k, v in native.items()}
    if isinstance(native, xdr.SCVal):
        if native.type == xdr.SCValType.SCV_ERROR:
            error = native.error
            code = error.contract_code.uint32 if error.contract_code is not None else error.code.value
            return {"error": error.type.name, "code": code}
        return native.to_xdr()
    return native
