"""gpu_miner.agent.state_file: the pooler agent's local file of found, sent and reported work."""
import json
import os
import stat

import pytest

from gpu_miner.agent.state_file import (EXPIRED, FAILED, PENDING, SUCCESS, Attempt, BlockWork, FarmerWork, Found,
                                   StateFile, StateFileError)

POOLER = "GPOOLER"
FARMER = "GFARMER"


def _block() -> BlockWork:
    farmer = FarmerWork(FARMER, plant_ledger=40, stake=123, farmer_id=7, best=Found(99, "ab" * 32, 5))
    farmer.attempts.append(Attempt(tx_hash="cd" * 32, nonce=99, hash="ab" * 32, zeros=5, channel=3,
                                   max_time=1299))
    return BlockWork(index=12, entropy="11" * 32, timestamp=1000, farmers={FARMER: farmer}, next_nonce=2**40)


def test_blocks_survive_a_save_and_load(tmp_path):
    state = StateFile(tmp_path / "pooler.json")
    state.save(POOLER, {12: _block()})
    assert state.load(POOLER) == {12: _block()}


def test_a_missing_file_is_an_empty_state(tmp_path):
    assert StateFile(tmp_path / "none.json").load(POOLER) == {}


def test_saving_replaces_the_file_whole_and_private(tmp_path):
    path = tmp_path / "dir" / "pooler.json"
    state = StateFile(path)
    state.save(POOLER, {12: _block()})
    state.save(POOLER, {})
    assert json.loads(path.read_text())["blocks"] == {}
    assert os.listdir(path.parent) == ["pooler.json"]  # no temporary file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_another_poolers_file_is_refused(tmp_path):
    state = StateFile(tmp_path / "pooler.json")
    state.save(POOLER, {})
    with pytest.raises(StateFileError, match="belongs to pooler"):
        state.load("GSOMEONEELSE")


def test_a_corrupt_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "pooler.json"
    path.write_text("{not json")
    with pytest.raises(StateFileError, match=str(path)):
        StateFile(path).load(POOLER)


def test_the_pending_attempt_and_sent_zeros_follow_the_attempts():
    farmer = _block().farmers[FARMER]
    assert farmer.pending is farmer.attempts[0] and farmer.sent_zeros == 5 and farmer.landed is None
    farmer.attempts[0].status = SUCCESS
    farmer.attempts.append(Attempt("ee" * 32, 5, "00" * 32, 7, 1, 1299, status=FAILED))
    assert farmer.pending is None and farmer.landed.zeros == 5 and farmer.sent_zeros == 5


def test_expired_and_failed_attempts_do_not_count_as_sent():
    farmer = FarmerWork(FARMER, attempts=[Attempt("aa" * 32, 1, "00" * 32, 3, 0, 0, status=EXPIRED),
                                          Attempt("bb" * 32, 2, "00" * 32, 4, 0, 0, status=FAILED)])
    assert farmer.sent_zeros is None and farmer.pending is None
    farmer.chain_zeros = 6
    assert farmer.sent_zeros == 6


def test_no_key_material_is_written(tmp_path):
    path = tmp_path / "pooler.json"
    StateFile(path).save(POOLER, {12: _block()})
    assert '"S' not in path.read_text()
    assert PENDING in path.read_text()
