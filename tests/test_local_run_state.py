"""What `up`'s live view reads from the database: each farmer's state in the current block and
what a leaving farmer waits for."""
from __future__ import annotations

from pathlib import Path

from config import load_settings
from db.models import Farmer, Harvest, Planting, Settlement, Work
from local.run_state import RunState, waits_for


def a_run_at_block(index: int) -> RunState:
    run = RunState(demo=None, api_url="http://127.0.0.1:9", client_settings=load_settings(environ={}),
                   log_dir=Path("/nonexistent"))
    run.index, run.first_block = index, index - 1
    return run


def plant(farmer: Farmer, block: int, zeros: int | None = None, reward: int | None = None) -> None:
    Planting.create(farmer=farmer.id, pooler=farmer.pooler_id, block_index=block, amount=100, tx_hash=f"p{block}")
    if zeros is not None:
        Work.create(farmer=farmer.id, pooler=farmer.pooler_id, block_index=block, hash=bytes(32), nonce=1,
                    zeros=zeros)
    if reward is not None:
        Harvest.create(farmer=farmer.id, block_index=block, reward=reward)


def test_each_farmer_has_its_state_in_the_current_block(rows):
    pooler = rows.pooler()
    worked, planted, unplanted = (rows.farmer(pooler, status="active") for _ in range(3))
    Farmer.update(plant_problem="no KALE to stake").where(Farmer.id == unplanted.id).execute()
    plant(worked, 4, zeros=6, reward=250)
    plant(worked, 5, zeros=7)
    plant(planted, 5)
    run = a_run_at_block(5)
    run.read_pool()
    lines = {line.id: line for line in run.farmers}
    assert lines[worked.id].in_block == "worked (7 zeros)"
    assert lines[planted.id].in_block == "planted, hashing"
    assert lines[unplanted.id].in_block == "not planted (no KALE to stake)"
    assert (lines[worked.id].planted, lines[worked.id].worked, lines[worked.id].harvested) == (2, 2, 1)
    assert lines[worked.id].rewards == 250
    assert [(b.index, b.planted, b.worked, b.closed) for b in run.recent] == [(3, 0, 0, 0), (4, 1, 1, 1),
                                                                             (5, 2, 1, 0)]


def test_a_leaving_farmer_with_an_open_pail_waits_for_its_harvest(rows):
    farmer = rows.farmer(status="leaving")
    plant(farmer, 8, zeros=5)
    run = a_run_at_block(9)
    run.read_pool()
    assert run.farmers[0].in_block == "not planted (leaving)"
    assert run.farmers[0].waits_for == "block 8's pail is not harvested yet"


def test_a_leaving_farmer_being_paid_waits_for_its_payout(rows):
    farmer = rows.farmer(status="leaving")
    Settlement.create(farmer=farmer.id, pooler=farmer.pooler_id, rewards_earned=0, pooler_share_bps=5000,
                      pooler_amount=0, farmer_amount=0, status="paying", last_error="tx_bad_seq")
    assert waits_for(farmer) == "its payout to land (last try: tx_bad_seq)"
