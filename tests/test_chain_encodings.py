"""chain.storage and chain.calls: the contract's ScVal and LedgerKey encodings."""
import pytest
from stellar_sdk import Address, scval, xdr

from chain import calls, storage
from chain.kale import I128_MAX, I128_MIN, U32_MAX, U64_MAX, Block, Pail

FARM = "CDGCCLIS6P3ECPTM5XGU4MM5UKMWVIWKA6LVDVNAXX5LLQ4SUOSWYDIA"
ACCOUNT = "GAH4IHY7OHZIVXUXF2YTLWV5W6AEIDOTNFIJFKXVCQ3KUJMI2P5SBYVH"


def roundtrip(value: xdr.SCVal) -> xdr.SCVal:
    return xdr.SCVal.from_xdr(value.to_xdr())


def test_a_unit_variant_is_a_one_element_vec():
    assert storage.farm_index_key().to_xdr() == "AAAAEAAAAAEAAAABAAAADwAAAAlGYXJtSW5kZXgAAAA="


@pytest.mark.parametrize("key, decoded", [
    (storage.farm_index_key(), ("FarmIndex",)),
    (storage.farm_block_key(), ("FarmBlock",)),
    (storage.farm_paused_key(), ("FarmPaused",)),
    (storage.homesteader_key(), ("Homesteader",)),
    (storage.homestead_asset_key(), ("HomesteadAsset",)),
    (storage.block_key(0), ("Block", 0)),
    (storage.block_key(U32_MAX), ("Block", U32_MAX)),
    (storage.pail_key(ACCOUNT, 7), ("Pail", ACCOUNT, 7)),
    (storage.pail_key(FARM, 7), ("Pail", FARM, 7)),
])
def test_storage_keys_round_trip_through_xdr(key, decoded):
    assert storage.decode_storage_key(roundtrip(key)) == decoded


def test_pail_key_is_vec_of_symbol_address_u32():
    items = storage.pail_key(ACCOUNT, 9).vec.sc_vec
    assert [item.type for item in items] == [
        xdr.SCValType.SCV_SYMBOL, xdr.SCValType.SCV_ADDRESS, xdr.SCValType.SCV_U32]


def test_anything_else_is_not_a_storage_key():
    with pytest.raises(ValueError):
        storage.decode_storage_key(scval.to_symbol("FarmIndex"))
    with pytest.raises(ValueError):
        storage.decode_storage_key(scval.to_enum("Block", None))


@pytest.mark.parametrize("value", [
    Block(0, 0, 0, 0, 0, 0, 0, bytes(32), 0, 0),
    Block(2**64 - 1, U32_MAX, I128_MAX, U32_MAX, 0, I128_MIN, 0, bytes(range(32)), -5, 10**30),
])
def test_block_struct_round_trips(value):
    assert storage.block_from_scval(roundtrip(storage.block_to_scval(value))) == value


def test_block_struct_fields_are_sorted_symbols():
    keys = [entry.key.sym.sc_symbol.decode() for entry in
            storage.block_to_scval(Block(1, 2, 3, 4, 5, 6, 7, bytes(32), 8, 9)).map.sc_map]
    assert keys == sorted(keys) == [
        "entropy", "max_gap", "max_stake", "max_zeros", "min_gap", "min_stake", "min_zeros",
        "normalized_total", "staked_total", "timestamp"]


@pytest.mark.parametrize("value", [Pail(5, None, 0, None), Pail(U32_MAX, 12, I128_MAX, 64)])
def test_pail_struct_round_trips_with_options(value):
    assert storage.pail_from_scval(roundtrip(storage.pail_to_scval(value))) == value


def test_unworked_pail_stores_void_options():
    fields = scval.from_struct(storage.pail_to_scval(Pail(5, None, 1, None)))
    assert fields["gap"].type == fields["zeros"].type == xdr.SCValType.SCV_VOID


def test_block_and_pail_ledger_keys_are_temporary_contract_data():
    for key in (storage.block_ledger_key(FARM, 3), storage.pail_ledger_key(FARM, ACCOUNT, 3)):
        decoded = xdr.LedgerKey.from_xdr(key.to_xdr())
        assert decoded.type == xdr.LedgerEntryType.CONTRACT_DATA
        assert decoded.contract_data.durability == xdr.ContractDataDurability.TEMPORARY
        assert Address.from_xdr_sc_address(decoded.contract_data.contract).address == FARM


def test_instance_ledger_key_is_persistent_contract_instance():
    key = xdr.LedgerKey.from_xdr(storage.instance_ledger_key(FARM).to_xdr())
    assert key.contract_data.durability == xdr.ContractDataDurability.PERSISTENT
    assert key.contract_data.key.type == xdr.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE


def test_farm_state_decodes_instance_storage():
    farm_block = Block(100, 1, 2, 3, 4, 5, 6, bytes(32), 0, 0)
    items = [
        xdr.SCMapEntry(storage.farm_index_key(), scval.to_uint32(42)),
        xdr.SCMapEntry(storage.farm_block_key(), storage.block_to_scval(farm_block)),
        xdr.SCMapEntry(storage.homesteader_key(), scval.to_address(ACCOUNT)),
    ]
    instance = xdr.SCContractInstance(
        executable=xdr.ContractExecutable(
            xdr.ContractExecutableType.CONTRACT_EXECUTABLE_WASM, wasm_hash=xdr.Hash(bytes(32))),
        storage=xdr.SCMap(items))
    data = xdr.LedgerEntryData(
        type=xdr.LedgerEntryType.CONTRACT_DATA,
        contract_data=xdr.ContractDataEntry(
            ext=xdr.ExtensionPoint(0), contract=Address(FARM).to_xdr_sc_address(),
            key=xdr.SCVal(xdr.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE),
            durability=xdr.ContractDataDurability.PERSISTENT,
            val=xdr.SCVal(xdr.SCValType.SCV_CONTRACT_INSTANCE, instance=instance)))
    state = storage.farm_state_from_instance(xdr.LedgerEntryData.from_xdr(data.to_xdr()))
    assert (state.index, state.farm_block, state.paused, state.homesteader) == (
        42, farm_block, False, ACCOUNT)


def invoked(op) -> tuple[str, str, list]:
    args = op.to_xdr_object().body.invoke_host_function_op.host_function.invoke_contract
    return (Address.from_xdr_sc_address(args.contract_address).address,
            args.function_name.sc_symbol.decode(), [scval.to_native(a) for a in args.args])


def test_plant_invokes_plant_with_farmer_and_i128_amount():
    contract, function, args = invoked(calls.plant(FARM, ACCOUNT, 10**20))
    assert (contract, function, args[0].address, args[1]) == (FARM, "plant", ACCOUNT, 10**20)


def test_work_invokes_work_with_farmer_hash_and_u64_nonce():
    contract, function, args = invoked(calls.work(FARM, ACCOUNT, b"\x01" * 32, U64_MAX))
    assert (function, args[0].address, args[1], args[2]) == ("work", ACCOUNT, b"\x01" * 32, U64_MAX)


def test_harvest_invokes_harvest_with_farmer_and_u32_index():
    contract, function, args = invoked(calls.harvest(FARM, ACCOUNT, 77))
    assert (function, args[0].address, args[1]) == ("harvest", ACCOUNT, 77)


@pytest.mark.parametrize("build, name", [
    (lambda: calls.plant(FARM, ACCOUNT, -1), "amount"),
    (lambda: calls.plant(FARM, "GBAD", 1), "farmer"),
    (lambda: calls.work(FARM, ACCOUNT, b"\x01" * 31, 1), "hash"),
    (lambda: calls.work(FARM, ACCOUNT, b"\x01" * 32, -1), "nonce"),
    (lambda: calls.harvest(FARM, ACCOUNT, 2**32), "index"),
])
def test_builders_refuse_bad_arguments_by_name(build, name):
    with pytest.raises(ValueError, match=name):
        build()
