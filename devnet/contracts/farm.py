"""The KALE farm contract (plant, work, harvest; upgrade, pause, unpause, remove_block, __check_auth),
exactly as the current public source (kalepail/KALE-sc) runs.

Storage and struct encodings come from `chain.storage`, the hash and reward math
from `chain.kale`; block selection, the FarmBlock reset sentinels and range
widening live here. See shared/reference/kale-protocol.md.
"""
from __future__ import annotations

from functools import lru_cache

from stellar_sdk import scval, xdr

from chain import kale, storage
from chain.kale import BLOCK_INTERVAL, I128_MAX, I128_MIN, U32_MAX, WEEK_OF_LEDGERS, Block, KaleError, Pail
from devnet import entries as E
from devnet.contracts.farm_xdr import block_xdr, pail_xdr
from devnet.host import DataKey, Host, HostError, StorageKey, value_error

_FARM_INDEX = StorageKey(storage.farm_index_key())
_FARM_BLOCK = StorageKey(storage.farm_block_key())
_FARM_PAUSED = StorageKey(storage.farm_paused_key())
_HOMESTEADER = StorageKey(storage.homesteader_key())
_ASSET = StorageKey(storage.homestead_asset_key())


@lru_cache(maxsize=4096)
def _block_key(contract: str, index: int) -> DataKey:
    return DataKey(contract, storage.block_key(index), temporary=True)


@lru_cache(maxsize=1 << 17)
def _pail_key(contract: str, farmer: str, index: int) -> DataKey:
    return DataKey(contract, storage.pail_key(farmer, index), temporary=True)


def new_farm_block(timestamp: int) -> Block:
    """FarmBlock reset: min fields at their type maximum, max fields at their minimum."""
    return Block(timestamp=timestamp, min_gap=U32_MAX, min_stake=I128_MAX, min_zeros=U32_MAX,
                 max_gap=0, max_stake=I128_MIN, max_zeros=0, entropy=bytes(32),
                 staked_total=0, normalized_total=0)


def new_block(timestamp: int, farm_block: Block) -> Block:
    """A block scored with the ranges seen during the previous one; sentinels become 0."""
    return Block(
        timestamp=timestamp,
        min_gap=0 if farm_block.min_gap == U32_MAX else farm_block.min_gap,
        min_stake=0 if farm_block.min_stake == I128_MAX else farm_block.min_stake,
        min_zeros=0 if farm_block.min_zeros == U32_MAX else farm_block.min_zeros,
        max_gap=farm_block.max_gap,
        max_stake=0 if farm_block.max_stake == I128_MIN else farm_block.max_stake,
        max_zeros=farm_block.max_zeros,
        entropy=farm_block.entropy, staked_total=0, normalized_total=0)


def _fail(error: KaleError) -> HostError:
    return HostError.contract(int(error), error.name)


def _address(value: xdr.SCVal) -> str:
    if value.type != xdr.SCValType.SCV_ADDRESS:
        raise value_error("expected an Address")
    return E.address_of(value.address)


def _typed(value: xdr.SCVal, kind: xdr.SCValType) -> xdr.SCVal:
    if value.type != kind:
        raise value_error(f"expected {kind.name}")
    return value


class _Farm:
    """The contract's storage helpers over one Host frame."""

    def __init__(self, host: Host):
        self.host = host
        self.contract = host.stack[-1].contract

    def index(self) -> int:
        value = self.host.get_instance(_FARM_INDEX)
        return 0 if value is None else scval.from_uint32(value)

    def set_index(self, index: int) -> None:
        self.host.set_instance(_FARM_INDEX, scval.to_uint32(index))

    def farm_block(self) -> Block:
        block = self.host.get_instance_decoded(_FARM_BLOCK, storage.block_from_scval)
        if block is None:
            raise _fail(KaleError.FarmBlockMissing)
        return block

    def set_farm_block(self, block: Block) -> None:
        self.host.set_instance_encoded(_FARM_BLOCK, block_xdr(block), block)

    def paused(self) -> bool:
        value = self.host.get_instance(_FARM_PAUSED)
        return False if value is None else scval.from_bool(value)

    def address_of(self, key: StorageKey) -> str:
        value = self.host.get_instance(key)
        if value is None:
            raise _fail(KaleError.HomesteadMissing)
        return E.address_of(value.address)

    def block(self, index: int) -> Block | None:
        return self.host.get_decoded(_block_key(self.contract, index), storage.block_from_scval)

    def set_block(self, index: int, block: Block) -> None:
        self.host.set_encoded(_block_key(self.contract, index), block_xdr(block), block)

    def pail(self, farmer: str, index: int) -> Pail | None:
        return self.host.get_decoded(_pail_key(self.contract, farmer, index), storage.pail_from_scval)

    def set_pail(self, farmer: str, index: int, pail: Pail) -> None:
        self.host.set_encoded(_pail_key(self.contract, farmer, index), pail_xdr(pail), pail)

    def block_and_pail(self, farmer: str, index: int) -> tuple[Block, Pail]:
        """Block(index) and Pail(farmer, index), or BlockMissing / PailMissing."""
        block = self.block(index)
        if block is None:
            raise _fail(KaleError.BlockMissing)
        pail = self.pail(farmer, index)
        if pail is None:
            raise _fail(KaleError.PailMissing)
        return block, pail

    def remove_pail(self, farmer: str, index: int) -> None:
        self.host.remove_data(_pail_key(self.contract, farmer, index))

    def extend_instance_ttl(self) -> None:
        max_ttl = self.host.ledger.max_ttl - 1
        self.host.extend_instance_ttl(max_ttl - WEEK_OF_LEDGERS, max_ttl)


def plant(host: Host, farmer_val: xdr.SCVal, amount_val: xdr.SCVal) -> xdr.SCVal:
    farmer = _address(farmer_val)
    amount = scval.from_int128(_typed(amount_val, xdr.SCValType.SCV_I128))
    host.require_auth(farmer)
    if amount < 0:
        raise _fail(KaleError.PlantAmountTooLow)
    farm = _Farm(host)
    if farm.paused():
        raise _fail(KaleError.FarmPaused)
    asset = farm.address_of(_ASSET)
    index = farm.index()
    farm_block = farm.farm_block()
    now = host.ledger.timestamp
    if now >= farm_block.timestamp + BLOCK_INTERVAL:
        block = new_block(now, farm_block)  # the current source no longer reads Block(index) here
        farm_block = new_farm_block(now)
        index += 1
        farm.set_index(index)
    else:
        block = farm.block(index)
        if block is None:  # genesis, or evicted
            if index > 0:
                index += 1
                farm.set_index(index)
            block = new_block(now, farm_block)
    if farm.pail(farmer, index) is not None:
        raise _fail(KaleError.PailExists)
    block.staked_total += amount
    if amount > 0:
        host.call(asset, "burn", [E.address_scval(farmer), scval.to_int128(amount)])
    farm_block.max_stake = max(farm_block.max_stake, amount)
    farm_block.min_stake = min(farm_block.min_stake, amount)
    farm.set_pail(farmer, index, Pail(sequence=host.ledger.seq, gap=None, stake=amount, zeros=None))
    farm.set_block(index, block)
    farm.set_farm_block(farm_block)
    farm.extend_instance_ttl()
    return scval.to_void()


def _normalizations(block: Block, gap: int, stake: int, zeros: int) -> tuple[int, int, int]:
    try:
        return kale.normalizations(block, gap, stake, zeros)
    except kale.ContractError as exc:
        raise _fail(exc.code) from None


def work(host: Host, farmer_val: xdr.SCVal, hash_val: xdr.SCVal, nonce_val: xdr.SCVal) -> xdr.SCVal:
    farmer = _address(farmer_val)
    hash_ = scval.from_bytes(_typed(hash_val, xdr.SCValType.SCV_BYTES))
    if len(hash_) != 32:
        raise value_error("hash must be BytesN<32>")
    nonce = scval.from_uint64(_typed(nonce_val, xdr.SCValType.SCV_U64))
    farm = _Farm(host)
    index = farm.index()
    farm_block = farm.farm_block()
    block, pail = farm.block_and_pail(farmer, index)
    generated = kale.kale_hash(index, nonce, block.entropy, farmer)
    gap = host.ledger.seq - pail.sequence
    if gap == 0:
        raise _fail(KaleError.GapCountTooLow)
    if hash_ != generated:
        raise _fail(KaleError.HashInvalid)
    zeros = kale.count_zeros(hash_)
    block.normalized_total += sum(_normalizations(block, gap, pail.stake, zeros))
    if pail.zeros is not None:
        if zeros <= pail.zeros:
            raise _fail(KaleError.ZeroCountTooLow)
        block.normalized_total -= sum(_normalizations(block, gap, pail.stake, pail.zeros))
    else:
        block.staked_total -= pail.stake
    farm_block.entropy = generated
    farm_block.max_gap = max(farm_block.max_gap, gap)
    farm_block.min_gap = min(farm_block.min_gap, gap)
    farm_block.max_zeros = max(farm_block.max_zeros, zeros)
    farm_block.min_zeros = min(farm_block.min_zeros, zeros)
    pail.gap, pail.zeros = gap, zeros
    farm.set_pail(farmer, index, pail)
    farm.set_block(index, block)
    farm.set_farm_block(farm_block)
    farm.extend_instance_ttl()
    return scval.to_uint32(gap)


def harvest(host: Host, farmer_val: xdr.SCVal, index_val: xdr.SCVal) -> xdr.SCVal:
    farmer = _address(farmer_val)
    index = scval.from_uint32(_typed(index_val, xdr.SCValType.SCV_U32))
    farm = _Farm(host)
    asset = farm.address_of(_ASSET)
    farm_index = farm.index()
    block, pail = farm.block_and_pail(farmer, index)
    if index >= farm_index:
        raise _fail(KaleError.HarvestNotReady)
    if pail.gap is None or pail.zeros is None:
        raise _fail(KaleError.WorkMissing)
    reward = (sum(_normalizations(block, pail.gap, pail.stake, pail.zeros))
              * (kale.block_reward(index) + block.staked_total) // max(block.normalized_total, 1))
    if reward + pail.stake > 0:
        host.call(asset, "mint", [E.address_scval(farmer), scval.to_int128(reward + pail.stake)])
    farm.remove_pail(farmer, index)
    farm.extend_instance_ttl()
    return scval.to_int128(reward)


def pause(host: Host) -> xdr.SCVal:
    farm = _Farm(host)
    host.require_auth(farm.address_of(_HOMESTEADER))
    if farm.paused():
        raise _fail(KaleError.FarmPaused)
    host.set_instance(_FARM_PAUSED, scval.to_bool(True))
    return scval.to_void()  # no instance TTL extension: the farm is being paused


def unpause(host: Host) -> xdr.SCVal:
    farm = _Farm(host)
    host.require_auth(farm.address_of(_HOMESTEADER))
    if not farm.paused():
        raise _fail(KaleError.FarmNotPaused)
    host.set_instance(_FARM_PAUSED, scval.to_bool(False))
    farm.extend_instance_ttl()
    return scval.to_void()


def upgrade(host: Host, hash_val: xdr.SCVal) -> xdr.SCVal:
    """The homesteader replaces the contract's code with an uploaded Wasm (`hash`)."""
    code_hash = scval.from_bytes(_typed(hash_val, xdr.SCValType.SCV_BYTES))
    if len(code_hash) != 32:
        raise value_error("hash must be BytesN<32>")
    farm = _Farm(host)
    host.require_auth(farm.address_of(_HOMESTEADER))
    host.update_current_contract_wasm(code_hash)
    farm.extend_instance_ttl()
    return scval.to_void()


def remove_block(host: Host, index_val: xdr.SCVal) -> xdr.SCVal:
    """The homesteader deletes `Block(index)` (nothing happens if it is already gone)."""
    index = scval.from_uint32(_typed(index_val, xdr.SCValType.SCV_U32))
    farm = _Farm(host)
    host.require_auth(farm.address_of(_HOMESTEADER))
    host.remove_data(_block_key(farm.contract, index))
    return scval.to_void()


def check_auth(host: Host, payload_val: xdr.SCVal, signatures: xdr.SCVal, contexts: xdr.SCVal) -> xdr.SCVal:
    """The farm as a custom account: whatever it authorizes, the homesteader must authorize
    this call with the signature payload as its only argument."""
    payload = _typed(payload_val, xdr.SCValType.SCV_BYTES)
    host.require_auth(_Farm(host).address_of(_HOMESTEADER), args=[payload])
    return scval.to_void()


FUNCTIONS = {"plant": (plant, 2), "work": (work, 3), "harvest": (harvest, 2),
             "pause": (pause, 0), "unpause": (unpause, 0), "upgrade": (upgrade, 1),
             "remove_block": (remove_block, 1), "__check_auth": (check_auth, 3)}


def call(host: Host, function: str, args: list[xdr.SCVal]) -> xdr.SCVal:
    """Dispatch one farm function."""
    if function not in FUNCTIONS:
        raise HostError.of(xdr.SCErrorType.SCE_WASM_VM, xdr.SCErrorCode.SCEC_MISSING_VALUE,
                           f"farm contract has no function {function}")
    implementation, arity = FUNCTIONS[function]
    if len(args) != arity:
        raise value_error(f"{function} takes {arity} arguments")
    return implementation(host, *args)


def instance_storage(homesteader: str, asset: str, timestamp: int) -> list[tuple[xdr.SCVal, xdr.SCVal]]:
    """The farm's instance storage at deployment: Homesteader, HomesteadAsset and a reset FarmBlock."""
    return [(_HOMESTEADER.val, scval.to_address(homesteader)), (_ASSET.val, scval.to_address(asset)),
            (_FARM_BLOCK.val, storage.block_to_scval(new_farm_block(timestamp)))]
