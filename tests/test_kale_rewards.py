"""chain.kale: normalization, block reward decay and harvest reward, worked by hand."""
import pytest

from chain import kale
from chain.kale import Block, ContractError, KaleError

BASE = kale.BLOCK_REWARD


def block(**fields) -> Block:
    values = dict(timestamp=0, min_gap=1, max_gap=11, min_stake=0, max_stake=1000,
                  min_zeros=2, max_zeros=6, entropy=bytes(32), staked_total=0,
                  normalized_total=0)
    values.update(fields)
    return Block(**values)


def test_values_are_scaled_to_the_widest_range():
    # ranges: gap 10, stake 1000, zeros 4 -> scale 1000
    assert kale.normalizations(block(), gap=6, stake=500, zeros=4) == (500, 500, 500)


def test_values_outside_a_range_are_clamped_to_it():
    assert kale.normalizations(block(), gap=50, stake=5000, zeros=0) == (1000, 1000, 1)


def test_every_normalization_is_at_least_one():
    assert kale.normalizations(block(), gap=1, stake=0, zeros=2) == (1, 1, 1)


def test_zero_stake_counts_as_one():
    assert kale.normalizations(block(), gap=11, stake=0, zeros=6)[1] == 1


def test_equal_min_and_max_make_a_range_of_one():
    flat = block(min_gap=5, max_gap=5, min_stake=7, max_stake=7, min_zeros=3, max_zeros=3)
    assert kale.normalizations(flat, gap=5, stake=7, zeros=3) == (1, 1, 1)
    assert kale.normalizations(flat, gap=9, stake=100, zeros=9) == (1, 1, 1)


def test_normalization_floors_like_the_contract():
    # ranges: gap 3, stake 7, zeros 1 -> scale 7; gap 2 -> (2-0)*7//3 = 4
    odd = block(min_gap=0, max_gap=3, min_stake=0, max_stake=7, min_zeros=0, max_zeros=1)
    assert kale.normalizations(odd, gap=2, stake=3, zeros=1) == (4, 3, 7)


@pytest.mark.parametrize("field", ["gap", "stake", "zeros"])
def test_a_range_with_max_below_min_is_block_invalid(field):
    bad = block(**{f"min_{field}": 10, f"max_{field}": 9})
    with pytest.raises(ContractError) as raised:
        kale.normalizations(bad, gap=5, stake=5, zeros=5)
    assert raised.value.code == KaleError.BlockInvalid == 12


def test_normalizations_accept_a_mapping_of_contract_field_names():
    fields = {name: getattr(block(), name) for name in Block.__slots__}
    assert kale.normalizations(fields, gap=6, stake=500, zeros=4) == (500, 500, 500)


@pytest.mark.parametrize("index, reward", [
    (0, BASE),
    (kale.V2_GENESIS_BLOCK, BASE),
    (kale.V2_GENESIS_BLOCK + kale.BLOCKS_PER_MONTH - 1, BASE),
    (kale.V2_GENESIS_BLOCK + kale.BLOCKS_PER_MONTH, 2379_7500000),
    (kale.V2_GENESIS_BLOCK + 2 * kale.BLOCKS_PER_MONTH - 1, 2379_7500000),
    (kale.V2_GENESIS_BLOCK + 2 * kale.BLOCKS_PER_MONTH, 2260_7625000),
])
def test_block_reward_decays_five_percent_per_period(index, reward):
    assert kale.block_reward(index) == reward


def test_block_reward_decay_is_repeated_floor_division_at_block_scale():
    periods = 37
    rate = kale.BLOCK_SCALE
    for _ in range(periods):
        rate = rate * 95 // 100
    index = kale.V2_GENESIS_BLOCK + periods * kale.BLOCKS_PER_MONTH
    assert kale.block_reward(index) == BASE * rate // kale.BLOCK_SCALE


def test_harvest_reward_shares_reward_plus_stakes_by_normalized_score():
    b = block(staked_total=1000, normalized_total=3001)
    expected = 1500 * (BASE + 1000) // 3001
    assert kale.harvest_reward(b, 5, gap=6, stake=500, zeros=4) == expected


def test_harvest_reward_divides_by_at_least_one():
    b = block(staked_total=0, normalized_total=0)
    assert kale.harvest_reward(b, 5, gap=6, stake=500, zeros=4) == 1500 * BASE


def test_a_lone_farmer_takes_the_whole_pot():
    b = block(min_gap=3, max_gap=3, min_stake=0, max_stake=0, min_zeros=4, max_zeros=4,
              staked_total=0, normalized_total=3)
    assert kale.harvest_reward(b, 40_000, gap=3, stake=0, zeros=4) == kale.block_reward(40_000)


def test_rewards_are_integers_even_for_huge_stakes():
    stake = 10**30
    b = block(min_stake=0, max_stake=stake, staked_total=stake, normalized_total=3 * stake)
    reward = kale.harvest_reward(b, 1, gap=11, stake=stake, zeros=6)
    assert isinstance(reward, int)
    assert reward == 3 * stake * (BASE + stake) // (3 * stake)
