"""gpu_miner.agent.policy: the pooler agent's timing, time-sharing and resubmission decisions."""
import random

import pytest

from gpu_miner.agent import policy

T = 1_000_000  # a block timestamp


def test_the_last_safe_ledger_is_the_last_expected_to_close_before_t_plus_300():
    limit = policy.deadline(latest_sequence=100, latest_close=T, block_timestamp=T, ledger_seconds=5,
                            margin=2)
    # ledgers 101..159 close at T+5 .. T+295; ledger 160 would close at T+300: too late
    assert (limit.last_safe, limit.ledgers_left, limit.target) == (159, 59, 157)


def test_a_ledger_closing_exactly_at_t_plus_300_is_not_safe():
    limit = policy.deadline(100, T + 290, T, 5, margin=0)
    assert (limit.last_safe, limit.ledgers_left) == (101, 1)  # 101 closes at T+295, 102 at T+300


def test_uneven_close_times_round_the_safe_ledgers_down():
    limit = policy.deadline(100, T + 291, T, 5, margin=0)
    assert (limit.last_safe, limit.ledgers_left) == (101, 1)  # T+296 safe, T+301 not


def test_a_block_past_t_plus_300_has_no_safe_ledger_left():
    limit = policy.deadline(100, T + 300, T, 5, margin=2)
    assert (limit.last_safe, limit.ledgers_left, limit.target) == (100, 0, 98)


def test_fast_ledgers_give_proportionally_more_safe_ledgers():
    limit = policy.deadline(10, T, T, ledger_seconds=1, margin=2)
    assert (limit.last_safe, limit.target) == (309, 307)


def test_the_first_work_is_sent_when_it_would_land_at_the_target():
    limit = policy.Deadline(last_safe=159, target=157, ledgers_left=50)
    assert not policy.should_submit(155, limit, lead=0)
    assert policy.should_submit(156, limit, lead=0)  # lands in 157
    assert policy.should_submit(154, limit, lead=2)  # two ledgers of send latency


def test_a_first_work_past_the_target_is_still_sent():
    limit = policy.Deadline(last_safe=159, target=157, ledgers_left=0)
    assert policy.should_submit(170, limit, lead=0)


def test_a_resubmission_must_be_able_to_land_by_the_last_safe_ledger():
    limit = policy.Deadline(last_safe=159, target=157, ledgers_left=2)
    assert policy.can_still_land(158, limit, lead=0)
    assert not policy.can_still_land(159, limit, lead=0)
    assert not policy.can_still_land(157, limit, lead=2)


def test_send_latency_is_counted_in_whole_ledgers_rounded_up():
    assert policy.lead_ledgers(submit_seconds=0.3, wall_seconds=5) == 1
    assert policy.lead_ledgers(submit_seconds=0.3, wall_seconds=0.1) == 3
    assert policy.lead_ledgers(submit_seconds=0.0, wall_seconds=5) == 0


def test_resubmitting_needs_strictly_more_zeros():
    assert not policy.worth_resubmitting(submitted_zeros=7, best_zeros=7)
    assert policy.worth_resubmitting(7, 8)
    assert not policy.worth_resubmitting(7, 8, min_extra_zeros=2)
    assert policy.worth_resubmitting(7, 9, min_extra_zeros=2)


def test_a_work_inside_the_block_expires_before_t_plus_300():
    assert policy.work_max_time(T, latest_close=T + 250, ledger_seconds=5, timeout=60) == T + 299


def test_a_work_sent_after_t_plus_300_gets_the_usual_timeout():
    assert policy.work_max_time(T, latest_close=T + 310, ledger_seconds=5, timeout=60) == T + 370


def test_farmers_without_a_hash_are_searched_first():
    assert policy.pick_jobs({"A": 5, "B": None, "C": 0}) == ["B"]


def test_the_farmers_with_the_fewest_zeros_are_searched_together():
    assert policy.pick_jobs({"A": 5, "B": 4, "C": 4, "D": 6}) == ["B", "C"]
    assert policy.pick_jobs({}) == []


def test_greedy_sharing_keeps_every_farmer_within_a_zero_of_the_others():
    rng = random.Random(7)
    best = {f"F{i}": None for i in range(8)}
    for _ in range(400):
        for farmer in policy.pick_jobs(best):
            zeros = 0
            while rng.random() < 1 / 16:
                zeros += 1
            best[farmer] = max(best[farmer] if best[farmer] is not None else -1, zeros)
    assert None not in best.values()
    assert max(best.values()) - min(best.values()) <= 1


def test_a_search_call_is_sized_to_the_measured_rate():
    assert policy.nonces_per_job(None, jobs=4, seconds=0.5) == 2**16
    assert policy.nonces_per_job(8e6, jobs=4, seconds=0.5) == 1_000_000


def test_the_clock_learns_ledger_and_wall_durations():
    clock = policy.LedgerClock()
    assert clock.ledger_seconds == policy.DEFAULT_LEDGER_SECONDS
    for i in range(5):
        assert clock.observe(100 + i, T + 5 * i, wall=10.0 + 0.1 * i)
    assert not clock.observe(104, T + 20, wall=11.0)  # the same ledger again
    assert clock.ledger_seconds == pytest.approx(5)
    assert clock.wall_seconds == pytest.approx(0.1)


def test_backoff_doubles_up_to_a_cap_and_resets():
    backoff = policy.Backoff(base=0.5, cap=3)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1, 2, 3, 3]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_the_lead_follows_the_slowest_recent_landing():
    delay = policy.LandingDelay(window=3)
    assert delay.lead(fallback=4) == 4
    delay.observe(decided_ledger=100, landed_ledger=101)
    assert delay.lead(fallback=4) == 0
    delay.observe(200, 203)
    assert delay.lead(4) == 2
    for _ in range(3):
        delay.observe(300, 301)
    assert delay.lead(4) == 0  # the slow one has left the window
