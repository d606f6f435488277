"""`manage.py audit`: discrepancies and per-farmer statements recomputed from chain rows; exit
status 0 when pool and chain agree, 1 when a discrepancy is open, 2 on bad input."""
from __future__ import annotations

import json

from db.chain_models import Discrepancy

from tests.indexer_history import corrupt, history, manage, pool  # noqa: F401


def audit(history, postgres: str, *args: str):
    return manage("audit", *args, database=postgres, rpc_url=history.devnet.rpc_url)


def test_an_honest_pool_audits_clean_with_each_farmers_chain_statement(pool, history, postgres):
    result = audit(history, postgres)
    assert result.returncode == 0, result.stderr
    assert "discrepancies: 0 open" in result.stdout
    assert (f"farmer {pool['a'].id} ({history.address('a')}): planted 5.0000000 KALE in 2 blocks (1 worked)"
            in result.stdout)
    assert f"settlement: payment 3.0000000 KALE:{history.network.kale_asset_issuer} to farmer" in result.stdout
    assert "custody ledger KALE: balance" in result.stdout


def test_a_corrupted_record_makes_the_audit_fail_and_show_both_sides(pool, history, postgres):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    result = audit(history, postgres, "--json")
    assert result.returncode == 1, result.stderr
    [found] = json.loads(result.stdout)["discrepancies"]
    assert (found["kind"], found["farmer_id"]) == ("harvest_mismatch", pool["a"].id)
    assert found["pool_side"]["reward"] == found["chain_side"]["reward"] + 1


def test_one_farmers_statement_over_a_ledger_range(pool, history, postgres):
    first = history.devnet.server().get_transaction(history.hashes["plant_b_zero_2"]).ledger
    result = audit(history, postgres, "--json", "--farmer", str(pool["b"].id), "--from-ledger", str(first))
    assert result.returncode == 0, result.stderr
    [statement] = json.loads(result.stdout)["statements"]
    assert statement["farmer_id"] == pool["b"].id
    assert [b["block_index"] for b in statement["blocks"]] == [history.blocks[1]]
    assert statement["blocks"][0]["reward"] == 0 and statement["planted"] == 0


def test_an_unknown_farmer_or_a_reversed_range_is_a_usage_error(pool, history, postgres):
    unknown = audit(history, postgres, "--farmer", "999")
    assert unknown.returncode == 2 and "no farmer with id 999" in unknown.stderr
    reversed_range = audit(history, postgres, "--from-ledger", "9", "--to-ledger", "3")
    assert reversed_range.returncode == 2 and "--from-ledger" in reversed_range.stderr


def test_an_operator_resolves_a_discrepancy_with_a_note_and_the_audit_passes_again(pool, history, postgres):
    corrupt("UPDATE harvests SET reward = reward + 1 WHERE farmer_id = %s", pool["a"].id)
    assert audit(history, postgres).returncode == 1
    [found] = Discrepancy.select()
    resolved = audit(history, postgres, "--resolve", str(found.id), "--note", "reward re-read from chain")
    assert resolved.returncode == 0 and f"discrepancy {found.id} resolved" in resolved.stdout
    assert Discrepancy.get_by_id(found.id).resolution == "reward re-read from chain"
    assert audit(history, postgres).returncode == 0
    assert audit(history, postgres, "--resolve", str(found.id), "--note", "again").returncode == 2
