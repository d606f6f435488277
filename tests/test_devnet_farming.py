"""Farming KALE on the devnet through stellar-sdk over HTTP pays exactly what the reference formulas say.

The expected figures are computed here from kale-protocol.md (normalization,
decay, reward split), independently of chain.kale and of the devnet.
"""
from __future__ import annotations

import hashlib

import pytest
from stellar_sdk import Keypair, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain import calls, storage
from chain.kale import kale_hash
from tests.fixtures.devnet import new_funded_farmer, prepare_and_send

KALE = 10_000_000
MINTED = 1_000 * KALE


def leading_zero_nibbles(digest: bytes) -> int:
    hex_digest = digest.hex()
    return len(hex_digest) - len(hex_digest.lstrip("0"))


def normalized(block: dict, gap: int, stake: int, zeros: int) -> int:
    """n_gap + n_stake + n_zeros, as kale-protocol.md defines them."""
    values = {"gap": gap, "stake": stake, "zeros": zeros}
    ranges = {k: max(block[f"max_{k}"] - block[f"min_{k}"], 1) for k in values}
    scale = max(ranges.values())
    total = 0
    for k, value in values.items():
        clamped = min(max(value, block[f"min_{k}"]), block[f"max_{k}"])
        total += max((clamped - block[f"min_{k}"]) * scale // ranges[k], 1)
    return total


def base_reward(index: int) -> int:
    periods = max(index - 30558, 0) // 8640
    r = 10**12
    for _ in range(periods):
        r = r * 95 * 10**10 // 10**12
    return 2505_0000000 * r // 10**12


def find_nonce(index: int, entropy: bytes, farmer: str, zeros: int) -> tuple[int, bytes]:
    nonce = int.from_bytes(hashlib.sha256(farmer.encode() + bytes([zeros])).digest()[:4], "big")
    while True:
        digest = kale_hash(index, nonce, entropy, farmer)
        if leading_zero_nibbles(digest) == zeros:
            return nonce, digest
        nonce += 1


def farm_state(devnet):
    key = storage.instance_ledger_key(devnet.info["farm_contract"])
    entry = devnet.server().get_ledger_entries([key]).entries[0]
    return storage.farm_state_from_instance(xdr.LedgerEntryData.from_xdr(entry.xdr))


def block_entry(devnet, index: int):
    entries = devnet.server().get_ledger_entries([storage.block_ledger_key(devnet.info["farm_contract"], index)])
    if not entries.entries:
        return None
    return storage.block_from_scval(xdr.LedgerEntryData.from_xdr(entries.entries[0].xdr).contract_data.val)


def kale_balance(devnet, address: str) -> int:
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.TRUSTLINE, trust_line=xdr.LedgerKeyTrustLine(
        Keypair.from_public_key(address).xdr_account_id(), devnet.kale_asset().to_trust_line_asset_xdr_object()))
    entry = devnet.server().get_ledger_entries([key]).entries[0]
    return xdr.LedgerEntryData.from_xdr(entry.xdr).trust_line.balance.int64


def ok(result) -> int:
    assert result.status == GetTransactionStatus.SUCCESS, result.result_xdr
    meta = xdr.TransactionMeta.from_xdr(result.result_meta_xdr)
    return meta.v4.soroban_meta.return_value


def open_next_block(devnet) -> None:
    """Close ledgers until the next ledger's close time is >= FarmBlock.timestamp + 300."""
    timestamp = farm_state(devnet).farm_block.timestamp
    latest = devnet.server().get_latest_ledger()
    missing = (timestamp + 300 - (int(latest.close_time) + 5) + 4) // 5
    if missing > 0:
        devnet.close_ledgers(missing)


@pytest.fixture
def farm(devnet_factory):
    return devnet_factory(close_interval=0)


def test_two_blocks_of_farming_pay_every_farmer_what_the_formulas_say(farm):
    contract = farm.info["farm_contract"]
    farmers = [new_funded_farmer(farm, kale=MINTED) for _ in range(3)]
    a, b, c = (f.public_key for f in farmers)
    assert [kale_balance(farm, f) for f in (a, b, c)] == [MINTED] * 3

    # Block 0: three stakes, three works, then a better resubmission by a.
    stakes0 = {a: 100 * KALE, b: 37 * KALE + 5_000_000, c: 0}
    planted = {}
    for farmer in farmers:
        result = prepare_and_send(farm, farmer, calls.plant(contract, farmer.public_key, stakes0[farmer.public_key]))
        ok(result)
        planted[farmer.public_key] = result.ledger
    assert farm_state(farm).index == 0
    block0 = block_entry(farm, 0)
    assert block0.staked_total == sum(stakes0.values())
    assert (block0.min_gap, block0.max_gap, block0.min_stake, block0.max_stake) == (0, 0, 0, 0)
    assert [kale_balance(farm, f) for f in (a, b, c)] == [MINTED - stakes0[f] for f in (a, b, c)]

    farm.close_ledgers(2)
    works0 = []  # (farmer, gap, zeros)
    for farmer, zeros in ((farmers[0], 1), (farmers[1], 2), (farmers[2], 0), (farmers[0], 3)):
        nonce, digest = find_nonce(0, block0.entropy, farmer.public_key, zeros)
        result = prepare_and_send(farm, farmer, calls.work(contract, farmer.public_key, digest, nonce))
        gap = ok(result).u32.uint32
        assert gap == result.ledger - planted[farmer.public_key]
        works0.append((farmer.public_key, gap, zeros))
        farm.close_ledgers(1)
    block0 = block_entry(farm, 0)
    # every range of block 0 is empty, so every normalization is 1: each work adds 3
    assert block0.normalized_total == 3 * 3 and block0.staked_total == 0

    # Block 1 opens with the ranges seen during block 0; c stakes but never works.
    open_next_block(farm)
    stakes1 = {a: 10 * KALE, b: 200 * KALE, c: 50 * KALE}
    planted = {}
    for farmer in farmers:
        result = prepare_and_send(farm, farmer, calls.plant(contract, farmer.public_key, stakes1[farmer.public_key]))
        ok(result)
        planted[farmer.public_key] = result.ledger
    assert farm_state(farm).index == 1
    block1 = block_entry(farm, 1)
    gaps0, zeros0 = [w[1] for w in works0], [w[2] for w in works0]
    expected_ranges = {"min_gap": min(gaps0), "max_gap": max(gaps0), "min_stake": 0, "max_stake": 100 * KALE,
                       "min_zeros": min(zeros0), "max_zeros": max(zeros0)}
    assert {k: getattr(block1, k) for k in expected_ranges} == expected_ranges
    assert block1.entropy == kale_hash(0, find_nonce(0, block0.entropy, a, 3)[0], block0.entropy, a)

    # harvest block 0: equal shares of the base reward (all stakes were reclaimed by work)
    for farmer in farmers:
        reward = ok(prepare_and_send(farm, farmer, calls.harvest(contract, farmer.public_key, 0)))
        assert reward.i128.lo.uint64 == 3 * base_reward(0) // 9

    farm.close_ledgers(4)
    works1 = {}
    for farmer, zeros in ((farmers[0], 2), (farmers[1], 1)):
        nonce, digest = find_nonce(1, block1.entropy, farmer.public_key, zeros)
        gap = ok(prepare_and_send(farm, farmer, calls.work(contract, farmer.public_key, digest, nonce))).u32.uint32
        works1[farmer.public_key] = (gap, zeros)
        farm.close_ledgers(3)

    ranges = expected_ranges
    totals = {f: normalized(ranges, gap, stakes1[f], zeros) for f, (gap, zeros) in works1.items()}
    block1 = block_entry(farm, 1)
    assert block1.normalized_total == sum(totals.values())
    assert block1.staked_total == stakes1[c]

    open_next_block(farm)
    ok(prepare_and_send(farm, farmers[2], calls.plant(contract, c, 0)))  # opens block 2
    pot = base_reward(1) + stakes1[c]
    for farmer in farmers[:2]:
        expected = totals[farmer.public_key] * pot // sum(totals.values())
        before = kale_balance(farm, farmer.public_key)
        reward = ok(prepare_and_send(farm, farmer, calls.harvest(contract, farmer.public_key, 1)))
        assert reward.i128.lo.uint64 == expected
        assert kale_balance(farm, farmer.public_key) == before + expected + stakes1[farmer.public_key]
    expected_c = MINTED - stakes0[c] + 3 * base_reward(0) // 9 - stakes1[c]
    assert kale_balance(farm, c) == expected_c
