"""Soroban encodings of the farm contract's storage: keys, structs and ledger keys.

A `Storage` variant is `Vec[Symbol(name), fields...]`; `Block` and `Pail` are
symbol-keyed maps. Instance items live inside the contract instance entry;
`Block(i)` and `Pail(farmer, i)` are temporary contract-data entries.
"""
from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Address, scval, xdr

from chain.kale import U32_MAX, Block, Pail, _check_entropy, _check_int, farmer_bytes

StorageKey = tuple  # ("Pail", "G...", 7), ("Block", 7), ("FarmIndex",), ...

_UNIT_VARIANTS = ("Homesteader", "HomesteadAsset", "FarmIndex", "FarmBlock", "FarmPaused")


def farm_index_key() -> xdr.SCVal:
    """`Storage::FarmIndex` (instance): index of the block being farmed."""
    return scval.to_enum("FarmIndex", None)


def farm_block_key() -> xdr.SCVal:
    """`Storage::FarmBlock` (instance): running statistics of the current block."""
    return scval.to_enum("FarmBlock", None)


def farm_paused_key() -> xdr.SCVal:
    """`Storage::FarmPaused` (instance)."""
    return scval.to_enum("FarmPaused", None)


def homesteader_key() -> xdr.SCVal:
    """`Storage::Homesteader` (instance): the admin address."""
    return scval.to_enum("Homesteader", None)


def homestead_asset_key() -> xdr.SCVal:
    """`Storage::HomesteadAsset` (instance): the KALE SAC address."""
    return scval.to_enum("HomesteadAsset", None)


def block_key(index: int) -> xdr.SCVal:
    """`Storage::Block(index)` (temporary)."""
    return scval.to_enum("Block", [scval.to_uint32(_check_int("index", index, 0, U32_MAX))])


def pail_key(farmer: str, index: int) -> xdr.SCVal:
    """`Storage::Pail(farmer, index)` (temporary)."""
    farmer_bytes(farmer)
    return scval.to_enum("Pail", [scval.to_address(farmer),
                                  scval.to_uint32(_check_int("index", index, 0, U32_MAX))])


def decode_storage_key(key: xdr.SCVal) -> StorageKey:
    """The Python form of a storage key: ("Pail", farmer, index), ("Block", index), ("FarmIndex",)..."""
    try:
        name, data = scval.from_enum(key)
    except Exception:
        raise ValueError("not a Storage key: expected Vec[Symbol, ...]") from None
    fields = [] if data is None else (data if isinstance(data, list) else [data])
    if name in _UNIT_VARIANTS and not fields:
        return (name,)
    if name == "Block" and len(fields) == 1:
        return ("Block", scval.from_uint32(fields[0]))
    if name == "Pail" and len(fields) == 2:
        return ("Pail", scval.from_address(fields[0]).address, scval.from_uint32(fields[1]))
    raise ValueError(f"not a Storage key: {name} with {len(fields)} field(s)")


def block_to_scval(block: Block) -> xdr.SCVal:
    """The `Block` struct as the contract stores it."""
    return scval.to_struct({
        "timestamp": scval.to_uint64(block.timestamp),
        "min_gap": scval.to_uint32(block.min_gap),
        "min_stake": scval.to_int128(block.min_stake),
        "min_zeros": scval.to_uint32(block.min_zeros),
        "max_gap": scval.to_uint32(block.max_gap),
        "max_stake": scval.to_int128(block.max_stake),
        "max_zeros": scval.to_uint32(block.max_zeros),
        "entropy": scval.to_bytes(_check_entropy(block.entropy)),
        "staked_total": scval.to_int128(block.staked_total),
        "normalized_total": scval.to_int128(block.normalized_total),
    })


def block_from_scval(value: xdr.SCVal) -> Block:
    """Decode a stored `Block` struct."""
    fields = _struct(value, "Block")
    return Block(
        timestamp=scval.from_uint64(fields["timestamp"]),
        min_gap=scval.from_uint32(fields["min_gap"]),
        min_stake=scval.from_int128(fields["min_stake"]),
        min_zeros=scval.from_uint32(fields["min_zeros"]),
        max_gap=scval.from_uint32(fields["max_gap"]),
        max_stake=scval.from_int128(fields["max_stake"]),
        max_zeros=scval.from_uint32(fields["max_zeros"]),
        entropy=_check_entropy(scval.from_bytes(fields["entropy"])),
        staked_total=scval.from_int128(fields["staked_total"]),
        normalized_total=scval.from_int128(fields["normalized_total"]),
    )


def pail_to_scval(pail: Pail) -> xdr.SCVal:
    """The `Pail` struct as the contract stores it (`None` options are Void)."""
    return scval.to_struct({
        "sequence": scval.to_uint32(pail.sequence),
        "gap": scval.to_void() if pail.gap is None else scval.to_uint32(pail.gap),
        "stake": scval.to_int128(pail.stake),
        "zeros": scval.to_void() if pail.zeros is None else scval.to_uint32(pail.zeros),
    })


def pail_from_scval(value: xdr.SCVal) -> Pail:
    """Decode a stored `Pail` struct."""
    fields = _struct(value, "Pail")
    return Pail(
        sequence=scval.from_uint32(fields["sequence"]),
        gap=_optional_u32(fields["gap"]),
        stake=scval.from_int128(fields["stake"]),
        zeros=_optional_u32(fields["zeros"]),
    )


def _optional_u32(value: xdr.SCVal) -> int | None:
    return None if value.type == xdr.SCValType.SCV_VOID else scval.from_uint32(value)


def _struct(value: xdr.SCVal, name: str) -> dict[str, xdr.SCVal]:
    try:
        return scval.from_struct(value)
    except Exception:
        raise ValueError(f"not a {name} struct") from None


def contract_data_key(contract: str, key: xdr.SCVal, temporary: bool) -> xdr.LedgerKey:
    """The LedgerKey of one contract-data entry."""
    durability = (xdr.ContractDataDurability.TEMPORARY if temporary
                  else xdr.ContractDataDurability.PERSISTENT)
    return xdr.LedgerKey(
        type=xdr.LedgerEntryType.CONTRACT_DATA,
        contract_data=xdr.LedgerKeyContractData(
            contract=Address(contract).to_xdr_sc_address(), key=key, durability=durability),
    )


def instance_ledger_key(contract: str) -> xdr.LedgerKey:
    """The LedgerKey of a contract's instance entry (holds FarmIndex, FarmBlock, ...)."""
    return contract_data_key(
        contract, xdr.SCVal(xdr.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE), temporary=False)


def block_ledger_key(contract: str, index: int) -> xdr.LedgerKey:
    """The LedgerKey of `Block(index)`."""
    return contract_data_key(contract, block_key(index), temporary=True)


def pail_ledger_key(contract: str, farmer: str, index: int) -> xdr.LedgerKey:
    """The LedgerKey of `Pail(farmer, index)`."""
    return contract_data_key(contract, pail_key(farmer, index), temporary=True)


@dataclass(frozen=True)
class FarmState:
    """The farm contract's instance storage, decoded."""

    index: int
    farm_block: Block | None
    paused: bool
    homesteader: str | None
    asset: str | None


def farm_state_from_instance(data: xdr.LedgerEntryData) -> FarmState:
    """Decode the farm contract's instance entry (`getLedgerEntries` xdr) into a FarmState."""
    instance = data.contract_data.val.instance
    items = {}
    for entry in (instance.storage.sc_map if instance.storage else []):
        try:
            items[decode_storage_key(entry.key)] = entry.val
        except ValueError:
            continue
    farm_block = items.get(("FarmBlock",))
    homesteader = items.get(("Homesteader",))
    asset = items.get(("HomesteadAsset",))
    return FarmState(
        index=scval.from_uint32(items[("FarmIndex",)]) if ("FarmIndex",) in items else 0,
        farm_block=block_from_scval(farm_block) if farm_block is not None else None,
        paused=scval.from_bool(items[("FarmPaused",)]) if ("FarmPaused",) in items else False,
        homesteader=scval.from_address(homesteader).address if homesteader is not None else None,
        asset=scval.from_address(asset).address if asset is not None else None,
    )
