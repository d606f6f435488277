"""The pooler agent's block and farmer decisions as pure functions of plain data.

Whom to hash for, when to ask the pool for plants, which works are due, whether a
sent work is resent, what a failed work means, when a block's hashing is over.
policy.py holds the timing arithmetic (deadlines, leads, clocks); this module
combines it with what the agent knows of each block and farmer. Both are tested
with plain inputs and a clock passed in, without any server.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Iterable, Mapping

from chain.kale import BLOCK_INTERVAL, KaleError
from chain.transactions import Failure
from gpu_miner.agent import policy
from gpu_miner.agent.state_file import BlockWork, FarmerWork

MAX_FAILURES = 4  # failed works for one farmer in one block before giving it up (retryable ones aside)
RETRYABLE = ("retry", "bad_seq", "fee_too_low", "out_of_xlm", "expired")
MAX_FEE_FACTOR = 100  # inclusion fee raised up to this many times the base fee when the network asks more
RESEND_AFTER_LEDGERS = 2  # a sent transaction not on chain after this many ledgers is sent again
PLANT_RETRY_LEDGERS = 3  # ledgers between plant requests that did not open or fully plant a block
PLANT_TRIES = 3  # plant requests for one block while some of its farmers failed to plant
REPLANT_SPARE_LEDGERS = 5  # a failed plant is asked again only with this many ledgers to spare past the margin
DUE_WAIT_SECONDS = 30.0  # past T + 300, how long to let this block's works land before planting the next

Key = tuple[int, str]  # (block index, farmer address)


def block_over(latest_close: int, block_timestamp: int) -> bool:
    """The block may end any ledger now: the latest ledger closed at or after T + 300."""
    return latest_close >= block_timestamp + BLOCK_INTERVAL


@dataclass(frozen=True)
class PlantView:
    """What the agent knows of the block it hashes for, when deciding whether to ask for plants."""

    index: int
    timestamp: int
    answered: bool  # the pool has answered a plant request for it
    failed: bool  # some farmers failed to plant or are still pending
    tries: int  # plant requests answered for it
    answer_ledger: int  # latest ledger when the last answer came
    over_since: float | None  # when the agent first saw the block over
    unfinished_sends: bool  # works found or sent that may still land
    ledgers_left: int


@dataclass(frozen=True)
class PlantRequest:
    """Ask the pool to plant in block `block_index` (None: whichever block the chain is at)."""

    block_index: int | None


def plant_request(block: PlantView | None, latest_sequence: int, latest_close: int, now: float,
                  margin: int) -> PlantRequest | None:
    """Whether to ask the pool for plants now, and for which block (None: not now).

    Unknown block: ask. Unanswered: ask for it. Over: let its works land (up to
    DUE_WAIT_SECONDS) and ask for the next, at most once per PLANT_RETRY_LEDGERS (a
    paused farm opens none). Failed plants: ask again a few times while it pays.
    """
    if block is None:
        return PlantRequest(None)
    if not block.answered:
        return PlantRequest(block.index)
    spaced = latest_sequence >= block.answer_ledger + PLANT_RETRY_LEDGERS
    if block_over(latest_close, block.timestamp):
        since = now if block.over_since is None else block.over_since
        if block.unfinished_sends and now < since + DUE_WAIT_SECONDS:
            return None
        return PlantRequest(block.index + 1) if spaced else None
    if block.failed and block.tries < PLANT_TRIES and spaced and block.ledgers_left > margin + REPLANT_SPARE_LEDGERS:
        return PlantRequest(block.index)
    return None


def hash_jobs(block: BlockWork, answered: bool, hashing_over: bool, is_open: bool) -> dict[str, int | None]:
    """Farmers to hash for, with their best zeros: the planted ones, or last block's farmers until the
    pool answers; once no work can improve, only those with nothing yet while the block is open."""
    farmers = {}
    for address, farmer in block.farmers.items():
        if farmer.closed is not None or (answered and farmer.plant_ledger is None):
            continue
        if hashing_over and (farmer.best is not None or not is_open):
            continue
        farmers[address] = None if farmer.best is None else farmer.best.zeros
    return farmers


def hashing_over(is_open: bool, answered: bool, latest_sequence: int, limit: policy.Deadline, lead: int) -> bool:
    """A block's hashing ends when the chain left it, or when no better work could land in time."""
    return not is_open or (answered and not policy.can_still_land(latest_sequence, limit, lead))


def send_lead(landing_lead: int, unsent: int, channels: int) -> int:
    """Ledgers ahead of the target to send: the landing delay, plus a ledger per extra wave of sends
    when there are fewer channels than farmers to send for."""
    waves = math.ceil(unsent / max(channels, 1))
    return landing_lead + max(waves - 1, 0)


def unsent(block: BlockWork) -> int:
    """Planted farmers still open whose work was never sent."""
    return sum(1 for f in block.farmers.values()
               if f.plant_ledger is not None and f.closed is None and f.sent_zeros is None)


def unfinished_sends(block: BlockWork, in_flight: Collection[Key]) -> bool:
    """Works of this block in flight or pending, or found and never sent."""
    return any((block.index, f.address) in in_flight or f.pending is not None
               or (f.best is not None and f.sent_zeros is None and f.closed is None and f.plant_ledger is not None)
               for f in block.farmers.values())


def due_works(block: BlockWork, latest_sequence: int, limit: policy.Deadline, lead: int, min_extra_zeros: int,
              in_flight: Collection[Key], not_before: Mapping[Key, int]) -> list[tuple[FarmerWork, bool]]:
    """The farmers whose work should be sent now, each with whether it is a resubmission; first works first.

    A farmer is skipped while its work is in flight or pending, in its plant ledger,
    or before the ledger a failure made it wait for.
    """
    due = []
    for farmer in block.farmers.values():
        key = (block.index, farmer.address)
        if (farmer.plant_ledger is None or farmer.closed is not None or farmer.best is None
                or key in in_flight or farmer.pending is not None
                or latest_sequence <= farmer.plant_ledger or latest_sequence < not_before.get(key, 0)):
            continue
        sent = farmer.sent_zeros
        if sent is None:
            ready = policy.should_submit(latest_sequence, limit, lead)
        else:
            ready = (policy.worth_resubmitting(sent, farmer.best.zeros, min_extra_zeros)
                     and policy.can_still_land(latest_sequence, limit, lead))
        if ready:
            due.append((farmer, sent is not None))
    return sorted(due, key=lambda item: item[1])


def should_resend(latest_sequence: int, sent_ledger: int) -> bool:
    """A transaction still missing from the chain this many ledgers after it was sent goes again."""
    return latest_sequence >= sent_ledger + RESEND_AFTER_LEDGERS


@dataclass(frozen=True)
class AfterFailure:
    """What a failed work means: whether the farmer is given up for the block, the next fee, and more."""

    closed: str | None  # why no more work is sent for this farmer in this block
    fee: int  # inclusion fee for the next works
    top_up: bool  # a channel ran out of XLM: top the channels up
    learn_pail_zeros: bool  # the pail holds at least as many zeros: ask the chain how many


def after_failure(failure: Failure, failures: int, fee: int, base_fee: int) -> AfterFailure:
    """Decide after the `failures`-th failed work of a farmer in a block (this one included).

    A missing pail or block closes the farmer; so do MAX_FAILURES failures that are not
    retryable; a fee refusal doubles the fee up to MAX_FEE_FACTOR times the base.
    """
    code = failure.contract_code
    if failure.kind == "fee_too_low":
        fee = min(fee * 2, base_fee * MAX_FEE_FACTOR)
    closed = None
    if code in (KaleError.PailMissing, KaleError.BlockMissing):
        closed = failure.name
    elif code != KaleError.GapCountTooLow and failure.kind not in RETRYABLE and failures >= MAX_FAILURES:
        closed = f"{failures} failed works, last {failure.name}"
    return AfterFailure(closed=closed, fee=fee, top_up=failure.kind == "out_of_xlm",
                        learn_pail_zeros=code == KaleError.ZeroCountTooLow)


def farmer_state(farmer: FarmerWork) -> str:
    """A farmer's state in its block, for the live status."""
    landed = farmer.landed
    if farmer.closed:
        return "closed: " + farmer.closed
    if farmer.pending:
        return "pending"
    if landed:
        return f"landed gap {landed.gap}"
    return "planted" if farmer.plant_ledger is not None else "waiting for plant"


def forgotten(indexes: Iterable[int], open_index: int, keep_blocks: int) -> list[int]:
    """Blocks old enough to drop from memory and the state file."""
    return [index for index in indexes if index < open_index - keep_blocks]
