"""The indexer stores the chain's own record of a devnet history: every case decoded into the
right rows, one marker per ledger, and nothing changed by reading anything twice."""
from __future__ import annotations

from db.chain_models import ChainKaleMovement, ChainLedger, ChainTransaction, IndexerCursor
from indexer.ingest import ledger_problems
from indexer.source import RpcSource
from tests.indexer_history import KALE, WHALE_STAKE, dump_chain_tables, history, ingest  # noqa: F401


def tx(history, label: str) -> ChainTransaction:
    return ChainTransaction.get_by_id(history.hashes[label])


def movements(history, label: str) -> list[ChainKaleMovement]:
    return list(ChainKaleMovement.select().where(ChainKaleMovement.tx_hash == history.hashes[label]))


def test_a_zero_stake_plant_is_recorded_in_its_block_with_nothing_burned(db, history):
    ingest(history)
    row = tx(history, "plant_b_zero")
    assert (row.kind, row.successful, row.farmer, row.block_index) == ("plant", True, history.address("b"),
                                                                       history.blocks[0])
    assert (row.stake, row.stake_burned) == (0, 0)
    assert movements(history, "plant_b_zero") == []


def test_a_staked_plant_records_the_burn_event_as_the_stake_burned(db, history):
    ingest(history)
    row = tx(history, "plant_a")
    assert (row.block_index, row.stake, row.stake_burned) == (history.blocks[0], 5 * KALE, 5 * KALE)
    [burn] = movements(history, "plant_a")
    assert (burn.kind, burn.from_address, burn.to_address, burn.amount) == ("burn", history.address("a"), None,
                                                                           5 * KALE)


def test_work_records_its_block_zeros_and_the_gap_it_returned(db, history):
    ingest(history)
    row = tx(history, "work_a")
    assert (row.kind, row.farmer, row.block_index, row.zeros) == ("work", history.address("a"),
                                                                  history.blocks[0], 2)
    assert row.gap == row.return_value == row.ledger - tx(history, "plant_a").ledger
    assert row.source == history.address("pooler") and row.work_hash.startswith("00")
    assert movements(history, "work_a") == []


def test_failed_calls_are_recorded_with_their_contract_error_and_no_effect(db, history):
    ingest(history)
    for label, code in (("plant_a_again", 8), ("work_a_again", 7), ("harvest_a_again", 9)):
        row = tx(history, label)
        assert not row.successful and row.contract_error == code, label
        assert row.result_code.startswith("txFAILED") and row.return_value is None
        assert row.stake is None and row.zeros is None and row.reward is None
        assert movements(history, label) == []


def test_a_harvest_records_its_reward_and_mints_reward_plus_stake(db, history):
    ingest(history)
    row = tx(history, "harvest_a")
    assert (row.block_index, row.stake) == (history.blocks[0], 5 * KALE)
    assert row.reward == row.return_value > 0
    assert row.amount_minted == row.reward + 5 * KALE
    [mint] = movements(history, "harvest_a")
    assert (mint.kind, mint.to_address, mint.amount) == ("mint", history.address("a"), row.amount_minted)


def test_a_harvest_that_mints_nothing_records_zero_and_no_movement(db, history):
    ingest(history)
    row = tx(history, "harvest_b_zero")
    assert (row.successful, row.block_index, row.reward, row.amount_minted) == (True, history.blocks[1], 0, 0)
    assert movements(history, "harvest_b_zero") == []
    assert tx(history, "plant_whale_2").stake_burned == WHALE_STAKE


def test_a_payout_from_a_known_wallet_is_recorded_with_its_payments_and_kale_transfer(db, rows, history):
    rows.farmer(custodial_address=history.address("a"), payout_address=history.address("payee"))
    ingest(history, scope="pool")
    row = tx(history, "payout_a")
    assert (row.kind, row.successful, row.source) == ("classic", True, history.address("a"))
    kale = f"{history.network.kale_asset_code}:{history.network.kale_asset_issuer}"
    assert row.operations == [
        {"type": "payment", "destination": history.address("payee"), "asset": kale, "amount": 3 * KALE},
        {"type": "payment", "destination": history.address("payee"), "asset": "native", "amount": 15_000_000}]
    [transfer] = movements(history, "payout_a")
    assert (transfer.kind, transfer.from_address, transfer.to_address, transfer.amount) == (
        "transfer", history.address("a"), history.address("payee"), 3 * KALE)


def test_the_pool_scope_keeps_only_what_concerns_addresses_the_pool_knows(db, rows, history):
    rows.farmer(custodial_address=history.address("b"))
    ingest(history, scope="pool")
    farmers = {row.farmer for row in ChainTransaction.select() if row.farmer}
    assert farmers == {history.address("b")}
    assert tx(history, "work_b").source == history.address("pooler")  # someone else's tx, b's pail
    assert ChainTransaction.get_or_none(ChainTransaction.hash == history.hashes["plant_a"]) is None
    assert movements(history, "plant_a")  # every KALE movement is kept, whoever it concerns


def test_every_ledger_gets_one_marker_with_its_transaction_count(db, history):
    ingest(history)
    latest = history.devnet.latest_ledger()
    cursor = IndexerCursor.get_by_id("all")
    assert (cursor.start_ledger, cursor.ledger) == (1, latest)
    assert [m.sequence for m in ChainLedger.select().order_by(ChainLedger.sequence)] == list(range(1, latest + 1))
    seen = RpcSource(history.devnet.rpc_url).transactions(1, latest)[0]
    assert sum(m.transaction_count for m in ChainLedger.select()) == len(seen)
    assert ChainLedger.get_by_id(ChainTransaction.get_by_id(history.hashes["plant_a"]).ledger).transaction_count == 4
    assert ledger_problems("all") == []


def test_ingesting_everything_again_changes_nothing(db, history):
    ingest(history)
    first = dump_chain_tables(db)
    IndexerCursor.update(ledger=0).execute()
    ingest(history)
    assert dump_chain_tables(db) == first


def test_two_item_pages_and_small_batches_give_the_same_tables_as_full_pages(db, history):
    ingest(history)
    full = dump_chain_tables(db)
    db.execute_sql("TRUNCATE chain_ledgers, chain_transactions, chain_kale_movements, indexer_cursor")
    ingest(history, max_ledgers=30, transactions_page=2, events_page=2)
    assert dump_chain_tables(db) == full


def test_at_the_tip_nothing_is_stored_until_a_ledger_closes_then_exactly_that_ledger(db, history):
    indexer = ingest(history)
    latest = history.devnet.latest_ledger()
    assert indexer.step() == 0
    history.devnet.close_ledgers(1)
    assert indexer.step() == 1
    assert IndexerCursor.get_by_id("all").ledger == latest + 1
    assert ChainLedger.get_by_id(latest + 1).transaction_count == 0
