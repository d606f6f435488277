"""Nothing in the pool assumes 5-second ledgers: ledger time per ledger is measured from the chain,
and the stand-in before any measurement is mainnet's median (about 6 s), not the 5 s target."""
from __future__ import annotations

from chain.kale import MEDIAN_LEDGER_SECONDS
from chain.rpc import Ledger, seconds_per_ledger
from gpu_miner.agent import policy


def test_seconds_per_ledger_is_measured_between_two_observations():
    assert seconds_per_ledger(Ledger(100, 1_000), Ledger(110, 1_062)) == 6.2


def test_before_two_distinct_ledgers_the_stand_in_is_the_mainnet_median():
    assert MEDIAN_LEDGER_SECONDS == 6.0
    assert seconds_per_ledger(Ledger(100, 1_000), Ledger(100, 1_000)) == MEDIAN_LEDGER_SECONDS


def test_the_pooler_agent_assumes_the_median_until_it_has_seen_ledgers_close():
    assert policy.LedgerClock().ledger_seconds == MEDIAN_LEDGER_SECONDS
