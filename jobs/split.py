"""The exit split: the pooler's share of a farmer's pool rewards, less what it owes the farmer."""
from __future__ import annotations

from dataclasses import dataclass

BPS = 10_000


@dataclass(frozen=True)
class Split:
    """How a departing farmer's pool rewards divide, in stroops.

    pooler_share: floor(rewards x share_bps / 10000), the pooler's terms.
    offset: the part of the compensation owed that the pooler share absorbs.
    pooler_amount: what is paid to the pooler (pooler_share - offset).
    debt: compensation the share could not absorb; it stays recorded as pooler debt.
    """

    rewards: int
    share_bps: int
    compensation: int
    pooler_share: int
    offset: int
    pooler_amount: int
    debt: int


def split_rewards(rewards: int, share_bps: int, compensation: int) -> Split:
    """Split `rewards` at `share_bps`, offsetting `compensation` the pooler owes the farmer."""
    for name, value in (("rewards", rewards), ("compensation", compensation)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer number of stroops")
    if isinstance(share_bps, bool) or not isinstance(share_bps, int) or not 0 <= share_bps <= BPS:
        raise ValueError("share_bps must be an integer between 0 and 10000")
    pooler_share = rewards * share_bps // BPS
    offset = min(pooler_share, compensation)
    return Split(rewards=rewards, share_bps=share_bps, compensation=compensation,
                 pooler_share=pooler_share, offset=offset,
                 pooler_amount=pooler_share - offset, debt=compensation - offset)


def stake_for(balance: int, stake_bps: int) -> int:
    """The stake to plant: floor(balance x stake_bps / 10000)."""
    return max(balance, 0) * stake_bps // BPS
