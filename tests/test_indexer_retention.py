"""The indexer never skips a ledger: a cursor older than the RPC's retention window stops it with
a message saying what to do, and an operator can backfill the record from an earlier ledger."""
from __future__ import annotations

import pytest

from db.chain_models import ChainLedger, IndexerCursor
from indexer.ingest import Indexer, open_cursor
from indexer.source import RetentionExceeded, RpcSource
from tests.indexer_history import manage, network_of

def test_a_cursor_older_than_the_retention_window_stops_the_indexer_and_stores_nothing(db, devnet_factory):
    node = devnet_factory(retention=20)
    latest = node.close_ledgers(50)
    open_cursor("all", 5)
    indexer = Indexer(RpcSource(node.rpc_url), network_of(node), "all")
    with pytest.raises(RetentionExceeded) as raised:
        indexer.step()
    assert (raised.value.next_ledger, raised.value.oldest, raised.value.latest) == (5, latest - 19, latest)
    assert IndexerCursor.get_by_id("all").ledger == 4 and ChainLedger.select().count() == 0


def test_the_indexer_command_exits_3_naming_the_lost_ledgers_and_the_remedy(db, postgres, devnet_factory):
    node = devnet_factory(retention=20)
    latest = node.close_ledgers(50)
    open_cursor("pool", 5)
    result = manage("indexer", "--once", database=postgres, rpc_url=node.rpc_url)
    assert result.returncode == 3, result.stderr
    assert f"needs ledger 5 but this RPC keeps only ledgers {latest - 19}..{latest}" in result.stderr
    assert "Nothing was skipped" in result.stderr and "KALEPOOL_RPC_URL" in result.stderr
    assert IndexerCursor.get_by_id("pool").ledger == 4


def test_a_start_ledger_before_the_record_backfills_it_without_a_gap(db, postgres, devnet_factory):
    node = devnet_factory()
    latest = node.close_ledgers(40)
    first = manage("indexer", "--once", "--scope", "all", "--start-ledger", "30", database=postgres,
                   rpc_url=node.rpc_url)
    assert first.returncode == 0, first.stderr
    backfill = manage("indexer", "--once", "--scope", "all", "--start-ledger", "10", database=postgres,
                      rpc_url=node.rpc_url)
    assert backfill.returncode == 0, backfill.stderr
    cursor = IndexerCursor.get_by_id("all")
    assert (cursor.start_ledger, cursor.ledger) == (10, latest)
    assert [m.sequence for m in ChainLedger.select().order_by(ChainLedger.sequence)] == list(range(10, latest + 1))
