"""A plant is never simulated in the last ledgers of a block: it could apply in the next block,
outside its footprint, and trap on chain."""
from dataclasses import dataclass, field

from chain.kale import BLOCK_INTERVAL, MEDIAN_LEDGER_SECONDS, Block
from chain.rpc import Ledger
from chain.storage import FarmState
from jobs.plant import BOUNDARY_LEDGERS, Planter, near_block_end

START = 1_000_000


def farm(timestamp: int | None = START) -> FarmState:
    block = None if timestamp is None else Block(timestamp, 0, 0, 0, 0, 0, 0, bytes(32), 0, 0)
    return FarmState(index=7, farm_block=block, paused=False, homesteader=None, asset=None)


def at(seconds_before_end: float) -> Ledger:
    return Ledger(sequence=100, close_time=int(START + BLOCK_INTERVAL - seconds_before_end))


def test_the_last_ledgers_of_a_block_are_near_its_end():
    assert near_block_end(farm(), at(MEDIAN_LEDGER_SECONDS))
    assert near_block_end(farm(), at(BOUNDARY_LEDGERS * MEDIAN_LEDGER_SECONDS))


def test_the_rest_of_a_block_an_ended_block_and_no_block_are_not():
    assert not near_block_end(farm(), at(BOUNDARY_LEDGERS * MEDIAN_LEDGER_SECONDS + 1))
    assert not near_block_end(farm(), at(0))
    assert not near_block_end(farm(), at(-30))
    assert not near_block_end(farm(None), at(MEDIAN_LEDGER_SECONDS))


@dataclass
class ClosingChain:
    """A chain whose every read of the latest ledger finds the next one closed."""

    seconds_before_end: float
    reads: list[int] = field(default_factory=list)

    def farm_state(self) -> FarmState:
        return farm()

    def latest_ledger(self) -> Ledger:
        self.reads.append(1)
        self.seconds_before_end -= MEDIAN_LEDGER_SECONDS
        return at(self.seconds_before_end + MEDIAN_LEDGER_SECONDS)


def test_the_planter_waits_for_the_block_to_end_before_planting_near_its_end():
    chain = ClosingChain(seconds_before_end=2 * MEDIAN_LEDGER_SECONDS)
    planter = Planter(client=chain, outbox=None, sign=None, fee_reserve=0, boundary_poll_seconds=0)
    _, latest = planter.wait_past_block_end()
    assert latest.close_time >= START + BLOCK_INTERVAL and len(chain.reads) == 3


def test_the_planter_does_not_wait_in_the_middle_of_a_block():
    chain = ClosingChain(seconds_before_end=BLOCK_INTERVAL / 2)
    planter = Planter(client=chain, outbox=None, sign=None, fee_reserve=0, boundary_poll_seconds=0)
    planter.wait_past_block_end()
    assert len(chain.reads) == 1
