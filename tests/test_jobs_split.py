"""jobs.split: the exit split and the stake, in integer stroops."""
import pytest

from jobs.split import split_rewards, stake_for


def test_default_terms_split_rewards_in_half_rounding_down_for_the_pooler():
    split = split_rewards(rewards=1001, share_bps=5000, compensation=0)
    assert (split.pooler_share, split.pooler_amount, split.debt) == (500, 500, 0)


def test_compensation_is_taken_from_the_pooler_share():
    split = split_rewards(rewards=1000, share_bps=5000, compensation=120)
    assert (split.pooler_share, split.offset, split.pooler_amount, split.debt) == (500, 120, 380, 0)


def test_compensation_beyond_the_share_stays_as_pooler_debt():
    split = split_rewards(rewards=100, share_bps=5000, compensation=80)
    assert (split.pooler_amount, split.offset, split.debt) == (0, 50, 30)


def test_zero_and_full_shares():
    assert split_rewards(999, 0, 0).pooler_amount == 0
    assert split_rewards(999, 10_000, 0).pooler_amount == 999


def test_huge_rewards_stay_exact():
    rewards = 2**100 + 1
    assert split_rewards(rewards, 3333, 0).pooler_share == rewards * 3333 // 10_000


@pytest.mark.parametrize("args", [(-1, 5000, 0), (10, 10_001, 0), (10, 5000, -5), (1.5, 5000, 0),
                                  (10, True, 0)])
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValueError):
        split_rewards(*args)


def test_stake_is_the_floored_share_of_the_balance():
    assert stake_for(10_000_001, 2500) == 2_500_000
    assert stake_for(3, 5000) == 1
    assert stake_for(0, 10_000) == 0
