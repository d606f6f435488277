"""Builders for the farm contract's `plant`, `work` and `harvest` invocations."""
from __future__ import annotations

from stellar_sdk import InvokeHostFunction, scval, xdr
from stellar_sdk.address import Address

from chain.kale import I128_MAX, U32_MAX, U64_MAX, _check_int, farmer_bytes


def invoke(contract: str, function: str, args: list[xdr.SCVal],
           source: str | None = None) -> InvokeHostFunction:
    """An InvokeHostFunction operation calling `function(args)` on `contract` (no auth yet)."""
    host_function = xdr.HostFunction(
        type=xdr.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT,
        invoke_contract=xdr.InvokeContractArgs(
            contract_address=Address(contract).to_xdr_sc_address(),
            function_name=xdr.SCSymbol(function.encode()),
            args=args,
        ),
    )
    return InvokeHostFunction(host_function=host_function, auth=[], source=source)


def plant(contract: str, farmer: str, amount: int, source: str | None = None) -> InvokeHostFunction:
    """`plant(farmer, amount)`: stake `amount` stroops; needs the farmer's authorization."""
    farmer_bytes(farmer)
    _check_int("amount", amount, 0, I128_MAX)
    return invoke(contract, "plant", [scval.to_address(farmer), scval.to_int128(amount)], source)


def work(contract: str, farmer: str, hash: bytes, nonce: int,
         source: str | None = None) -> InvokeHostFunction:
    """`work(farmer, hash, nonce)`: submit a proof of work; anyone may send it."""
    farmer_bytes(farmer)
    if not isinstance(hash, (bytes, bytearray)) or len(hash) != 32:
        raise ValueError("hash must be 32 bytes")
    _check_int("nonce", nonce, 0, U64_MAX)
    return invoke(contract, "work",
                  [scval.to_address(farmer), scval.to_bytes(bytes(hash)), scval.to_uint64(nonce)],
                  source)


def harvest(contract: str, farmer: str, index: int, source: str | None = None) -> InvokeHostFunction:
    """`harvest(farmer, index)`: mint the reward and stake of a worked pail; anyone may send it."""
    farmer_bytes(farmer)
    _check_int("index", index, 0, U32_MAX)
    return invoke(contract, "harvest", [scval.to_address(farmer), scval.to_uint32(index)], source)
