"""getTransactions, getEvents and getLedgers page through history with exclusive cursors and filters."""
from __future__ import annotations

import pytest
from stellar_sdk import Keypair, scval, xdr
from stellar_sdk.exceptions import SorobanRpcErrorResponse
from stellar_sdk.soroban_rpc import EventFilter, EventFilterType, GetTransactionStatus

from chain import calls, storage
from tests.fixtures.devnet import Devnet, new_funded_farmer, prepare_and_send

KALE = 10_000_000


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A devnet with two farmers minted, trusted and planted: a known history."""
    node = Devnet(tmp_path_factory.mktemp("history"), close_interval=0)
    farmers = [new_funded_farmer(node, kale=(i + 1) * 10 * KALE) for i in range(2)]
    plants = [prepare_and_send(node, f, calls.plant(node.info["farm_contract"], f.public_key, (i + 1) * KALE))
              for i, f in enumerate(farmers)]
    assert all(p.status == GetTransactionStatus.SUCCESS for p in plants)
    yield node, farmers, plants
    node.stop()


def all_transactions(server, limit: int) -> list:
    page = server.get_transactions(start_ledger=1, limit=limit)
    found = list(page.transactions)
    while page.transactions:
        page = server.get_transactions(cursor=page.cursor, limit=limit)
        found += page.transactions
    return found


def test_get_transactions_pages_every_transaction_once_in_ledger_order(chain):
    node, farmers, plants = chain
    server = node.server()
    everything = all_transactions(server, 200)
    paged = all_transactions(server, 2)
    assert [t.transaction_hash for t in paged] == [t.transaction_hash for t in everything]
    assert len(everything) == 2 * 3 + 2  # friendbot, trustline, mint per farmer, then two plants
    order = [(t.ledger, t.application_order) for t in everything]
    assert order == sorted(order) and len(set(order)) == len(order)
    assert everything[-1].transaction_hash == plants[-1].transaction_hash
    meta = xdr.TransactionMeta.from_xdr(everything[-1].result_meta_xdr)
    assert meta.v4.soroban_meta.return_value.type == xdr.SCValType.SCV_VOID


def test_get_transactions_cursor_is_the_toid_of_the_last_transaction(chain):
    node, _, _ = chain
    page = node.server().get_transactions(start_ledger=1, limit=1)
    first = page.transactions[0]
    assert page.cursor == str(first.ledger << 32 | first.application_order << 12 | 1)


def test_get_events_filters_by_contract_and_topic_and_pages_with_cursors(chain):
    node, farmers, _ = chain
    server = node.server()
    sac = node.info["kale_sac"]
    mints = server.get_events(start_ledger=1, filters=[EventFilter(
        event_type=EventFilterType.CONTRACT, contract_ids=[sac],
        topics=[[scval.to_symbol("mint").to_xdr(), "*", "*"]])], limit=100)
    assert [scval.from_address(xdr.SCVal.from_xdr(e.topic[1])).address for e in mints.events] \
        == [f.public_key for f in farmers]
    assert [scval.from_int128(xdr.SCVal.from_xdr(e.value)) for e in mints.events] == [10 * KALE, 20 * KALE]
    assert scval.from_string(xdr.SCVal.from_xdr(mints.events[0].topic[2])).decode() == node.info["kale_asset"]
    burns = server.get_events(start_ledger=1, filters=[EventFilter(
        contract_ids=[sac], topics=[[scval.to_symbol("burn").to_xdr(), "**"]])])
    assert [scval.from_int128(xdr.SCVal.from_xdr(e.value)) for e in burns.events] == [KALE, 2 * KALE]

    everything = server.get_events(start_ledger=1, filters=[EventFilter(contract_ids=[sac])], limit=100).events
    paged, cursor = [], None
    while True:
        page = (server.get_events(filters=[EventFilter(contract_ids=[sac])], cursor=cursor, limit=1) if cursor
                else server.get_events(start_ledger=1, filters=[EventFilter(contract_ids=[sac])], limit=1))
        paged += page.events
        if not page.events:
            break
        assert page.cursor == page.events[-1].id
        cursor = page.cursor
    assert [e.id for e in paged] == [e.id for e in everything] == sorted(e.id for e in everything)


def test_fee_events_are_native_sac_events_at_the_start_of_the_ledger(chain):
    node, farmers, plants = chain
    native = "CDMLFMKMMD7MWZP3FKUBZPVHTUEDLSX4BYGYKH4GCESXYHS3IHQ4EIG4"
    fees = node.server().get_events(start_ledger=plants[-1].ledger, filters=[EventFilter(
        contract_ids=[native], topics=[[scval.to_symbol("fee").to_xdr(), "*"]])], limit=10)
    event = fees.events[0]
    assert event.id.endswith("-0000000000") and int(event.id.split("-")[0]) == plants[-1].ledger << 32
    assert scval.from_address(xdr.SCVal.from_xdr(event.topic[1])).address == farmers[1].public_key


def test_get_events_cursor_without_matches_points_past_the_scanned_window(chain):
    node, _, _ = chain
    latest = node.latest_ledger()
    page = node.server().get_events(start_ledger=latest, filters=[EventFilter(
        contract_ids=["CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSC4"])], limit=5)
    assert page.events == []
    assert page.cursor == f"{latest << 32 | 0xFFFFFFFF:019d}-4294967295"


def test_get_ledgers_pages_with_the_last_sequence_as_cursor(chain):
    node, _, _ = chain
    server = node.server()
    page = server.get_ledgers(start_ledger=1, limit=3)
    assert [ledger.sequence for ledger in page.ledgers] == [1, 2, 3] and page.cursor == "3"
    following = server.get_ledgers(cursor=page.cursor, limit=2)
    assert [ledger.sequence for ledger in following.ledgers] == [4, 5]
    header = xdr.LedgerHeaderHistoryEntry.from_xdr(following.ledgers[0].header_xdr)
    assert header.header.ledger_seq.uint32 == 4
    assert header.header.previous_ledger_hash.hash.hex() == page.ledgers[-1].hash
    xdr.LedgerCloseMeta.from_xdr(following.ledgers[0].metadata_xdr)


def test_a_start_ledger_outside_retention_is_an_invalid_request(chain):
    node, _, _ = chain
    with pytest.raises(SorobanRpcErrorResponse) as error:
        node.server().get_events(start_ledger=node.latest_ledger() + 10, filters=[])
    assert error.value.code == -32600


def test_a_plant_meta_shows_the_created_pail_key_and_the_burn_event(chain):
    node, farmers, plants = chain
    meta = xdr.TransactionMeta.from_xdr(plants[0].result_meta_xdr).v4
    created = [c.created.data.contract_data for c in meta.operations[0].changes.ledger_entry_changes
               if c.type == xdr.LedgerEntryChangeType.LEDGER_ENTRY_CREATED
               and c.created.data.type == xdr.LedgerEntryType.CONTRACT_DATA]
    pail = storage.pail_key(farmers[0].public_key, 0).to_xdr_bytes()
    assert any(c.key.to_xdr_bytes() == pail for c in created)
    burn = meta.operations[0].events[0].body.v0
    assert scval.to_native(burn.topics[0]) == "burn" and scval.from_int128(burn.data) == KALE
    assert plants[0].events.contract_events_xdr[0]  # getTransaction carries the same events


def test_history_older_than_retention_is_forgotten(devnet_factory):
    node = devnet_factory(close_interval=0, retention=10)
    first = node.fund(Keypair.random().public_key)
    node.close_ledgers(12)
    server = node.server()
    assert server.get_transaction(first["hash"]).status == GetTransactionStatus.NOT_FOUND
    health = server.get_health()
    assert health.oldest_ledger == health.latest_ledger - 9
    with pytest.raises(SorobanRpcErrorResponse):
        server.get_transactions(start_ledger=1)


def test_meta_and_instance_xdr_are_canonical_encodings(chain):
    node, _, plants = chain
    meta = xdr.TransactionMeta.from_xdr(plants[-1].result_meta_xdr)
    assert meta.to_xdr() == plants[-1].result_meta_xdr
    result = xdr.TransactionResult.from_xdr(plants[-1].result_xdr)
    assert result.to_xdr() == plants[-1].result_xdr
    instance = node.server().get_ledger_entries([storage.instance_ledger_key(node.info["farm_contract"])]).entries[0]
    assert xdr.LedgerEntryData.from_xdr(instance.xdr).to_xdr() == instance.xdr
