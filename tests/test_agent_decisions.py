"""gpu_miner.agent.decisions: whom to hash for, when to ask for plants and send works, what a failure means."""
from __future__ import annotations

from dataclasses import replace

from chain.transactions import Failure
from gpu_miner.agent import decisions
from gpu_miner.agent.decisions import (DUE_WAIT_SECONDS, MAX_FAILURES, PLANT_RETRY_LEDGERS, PlantRequest, PlantView,
                                       plant_request)
from gpu_miner.agent.policy import Deadline
from gpu_miner.agent.state_file import PENDING, SUCCESS, Attempt, BlockWork, FarmerWork, Found

T = 1_000_000
INDEX = 12
A, B, C = "GA", "GB", "GC"  # farmer addresses (decisions never parse them)
LIMIT = Deadline(last_safe=159, target=157, ledgers_left=10)
OPEN = PlantView(index=INDEX, timestamp=T, answered=True, failed=False, tries=1, answer_ledger=100,
                 over_since=None, unfinished_sends=False, ledgers_left=40)


def block(*farmers: FarmerWork) -> BlockWork:
    return BlockWork(index=INDEX, entropy="00" * 32, timestamp=T, farmers={f.address: f for f in farmers})


def attempt(zeros: int, status: str = PENDING) -> Attempt:
    return Attempt("aa" * 32, 1, "00" * 32, zeros, channel=0, max_time=T + 299, status=status)


# -- plant requests --------------------------------------------------------------------------------
def test_with_no_block_yet_the_agent_asks_for_whichever_block_is_open():
    assert plant_request(None, 100, T, now=0.0, margin=2) == PlantRequest(None)


def test_an_unanswered_block_is_asked_for():
    assert plant_request(replace(OPEN, answered=False), 100, T + 10, now=0.0, margin=2) == PlantRequest(INDEX)


def test_an_answered_open_block_is_not_asked_for_again():
    assert plant_request(OPEN, 150, T + 250, now=0.0, margin=2) is None


def test_a_block_over_asks_for_the_next_one():
    assert plant_request(OPEN, 161, T + 300, now=0.0, margin=2) == PlantRequest(INDEX + 1)


def test_a_block_over_waits_a_while_for_its_works_to_land():
    over = replace(OPEN, over_since=50.0, unfinished_sends=True)
    assert plant_request(over, 161, T + 300, now=50.0 + DUE_WAIT_SECONDS - 1, margin=2) is None
    assert plant_request(over, 161, T + 300, now=50.0 + DUE_WAIT_SECONDS, margin=2) == PlantRequest(INDEX + 1)


def test_a_block_that_does_not_open_is_asked_for_once_every_few_ledgers():
    answered_at = replace(OPEN, answer_ledger=161)  # e.g. the farm is paused
    assert plant_request(answered_at, 161 + PLANT_RETRY_LEDGERS - 1, T + 400, now=0.0, margin=2) is None
    assert plant_request(answered_at, 161 + PLANT_RETRY_LEDGERS, T + 400, now=0.0, margin=2) == PlantRequest(INDEX + 1)


def test_failed_plants_are_asked_again_a_few_times_while_there_is_time():
    failed = replace(OPEN, failed=True)
    assert plant_request(failed, 100 + PLANT_RETRY_LEDGERS, T + 100, now=0.0, margin=2) == PlantRequest(INDEX)
    assert plant_request(failed, 101, T + 100, now=0.0, margin=2) is None  # too soon after the answer
    assert plant_request(replace(failed, tries=3), 110, T + 100, now=0.0, margin=2) is None
    assert plant_request(replace(failed, ledgers_left=7), 110, T + 100, now=0.0, margin=2) is None


# -- hashing ---------------------------------------------------------------------------------------
def test_before_the_pool_answers_last_blocks_farmers_are_hashed_for():
    farmers = block(FarmerWork(A), FarmerWork(B, best=Found(1, "00", 3)))
    assert decisions.hash_jobs(farmers, answered=False, hashing_over=False, is_open=True) == {A: None, B: 3}


def test_once_answered_only_planted_open_farmers_are_hashed_for():
    farmers = block(FarmerWork(A, plant_ledger=41), FarmerWork(B), FarmerWork(C, plant_ledger=41, closed="gone"))
    assert decisions.hash_jobs(farmers, answered=True, hashing_over=False, is_open=True) == {A: None}


def test_when_hashing_is_over_only_farmers_with_nothing_yet_are_hashed_for_in_the_open_block():
    farmers = block(FarmerWork(A, plant_ledger=41), FarmerWork(B, plant_ledger=41, best=Found(1, "00", 3)))
    assert decisions.hash_jobs(farmers, answered=True, hashing_over=True, is_open=True) == {A: None}
    assert decisions.hash_jobs(farmers, answered=True, hashing_over=True, is_open=False) == {}


def test_hashing_ends_when_the_chain_leaves_the_block_or_no_work_can_land():
    assert decisions.hashing_over(is_open=False, answered=False, latest_sequence=100, limit=LIMIT, lead=0)
    assert not decisions.hashing_over(is_open=True, answered=True, latest_sequence=157, limit=LIMIT, lead=0)
    assert decisions.hashing_over(is_open=True, answered=True, latest_sequence=159, limit=LIMIT, lead=0)
    assert not decisions.hashing_over(is_open=True, answered=False, latest_sequence=159, limit=LIMIT, lead=0)


# -- sending ---------------------------------------------------------------------------------------
def test_few_channels_send_earlier_by_a_ledger_per_extra_wave():
    assert decisions.send_lead(landing_lead=0, unsent=8, channels=8) == 0
    assert decisions.send_lead(landing_lead=1, unsent=9, channels=4) == 3


def test_works_are_due_at_the_target_first_works_before_resubmissions():
    first = FarmerWork(A, plant_ledger=41, best=Found(1, "00", 4))
    better = FarmerWork(B, plant_ledger=41, best=Found(2, "00", 6), attempts=[attempt(5, SUCCESS)])
    due = decisions.due_works(block(better, first), 156, LIMIT, lead=0, min_extra_zeros=1, in_flight=set(),
                              not_before={})
    assert [(f.address, again) for f, again in due] == [(A, False), (B, True)]
    assert decisions.due_works(block(first), 155, LIMIT, 0, 1, set(), {}) == []


def test_a_farmer_in_flight_pending_or_waiting_after_a_failure_is_not_due():
    ready = dict(plant_ledger=41, best=Found(1, "00", 4))
    farmers = block(FarmerWork(A, **ready), FarmerWork(B, **ready, attempts=[attempt(4)]), FarmerWork(C, **ready))
    due = decisions.due_works(farmers, 156, LIMIT, 0, 1, in_flight={(INDEX, A)}, not_before={(INDEX, C): 157})
    assert due == []


def test_a_work_found_and_never_sent_keeps_the_block_unfinished():
    assert decisions.unfinished_sends(block(FarmerWork(A, plant_ledger=41, best=Found(1, "00", 4))), set())
    assert not decisions.unfinished_sends(block(FarmerWork(A, plant_ledger=41)), set())
    assert decisions.unfinished_sends(block(FarmerWork(A, plant_ledger=41)), {(INDEX, A)})


def test_a_missing_transaction_is_resent_two_ledgers_after_it_was_sent():
    assert not decisions.should_resend(latest_sequence=101, sent_ledger=100)
    assert decisions.should_resend(latest_sequence=102, sent_ledger=100)


# -- failures --------------------------------------------------------------------------------------
def test_a_missing_pail_gives_the_farmer_up_at_once():
    outcome = decisions.after_failure(Failure("contract", "simulation", contract_code=9), 1, fee=100, base_fee=100)
    assert outcome.closed == "#9 PailMissing" and outcome.fee == 100


def test_plain_failures_give_up_after_a_few_retryable_ones_never():
    refused = Failure("rejected", "txMALFORMED")
    assert decisions.after_failure(refused, MAX_FAILURES - 1, 100, 100).closed is None
    assert decisions.after_failure(refused, MAX_FAILURES, 100, 100).closed == \
        f"{MAX_FAILURES} failed works, last txMALFORMED"
    assert decisions.after_failure(Failure("retry", "TRY_AGAIN_LATER"), 99, 100, 100).closed is None


def test_a_fee_refusal_doubles_the_fee_up_to_a_cap():
    fee_low = Failure("fee_too_low", "txINSUFFICIENT_FEE")
    assert decisions.after_failure(fee_low, 1, fee=400, base_fee=100).fee == 800
    assert decisions.after_failure(fee_low, 1, fee=9_000, base_fee=100).fee == 100 * decisions.MAX_FEE_FACTOR


def test_an_empty_channel_asks_for_a_top_up_and_too_few_zeros_asks_the_pail():
    assert decisions.after_failure(Failure("out_of_xlm", "txINSUFFICIENT_BALANCE"), 1, 100, 100).top_up
    assert decisions.after_failure(Failure("contract", "simulation", contract_code=7), 1, 100, 100).learn_pail_zeros


# -- status ----------------------------------------------------------------------------------------
def test_a_farmers_state_says_where_its_work_stands():
    assert decisions.farmer_state(FarmerWork(A)) == "waiting for plant"
    assert decisions.farmer_state(FarmerWork(A, plant_ledger=41)) == "planted"
    assert decisions.farmer_state(FarmerWork(A, plant_ledger=41, attempts=[attempt(4)])) == "pending"
    landed = replace(attempt(4, SUCCESS), gap=55)
    assert decisions.farmer_state(FarmerWork(A, plant_ledger=41, attempts=[landed])) == "landed gap 55"
    assert decisions.farmer_state(FarmerWork(A, closed="#9 PailMissing")) == "closed: #9 PailMissing"
