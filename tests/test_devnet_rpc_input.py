"""Bad JSON-RPC input gets the real protocol's error answers and never hurts the server."""
from __future__ import annotations

import base64

import pytest
import requests
from stellar_sdk import Account, Keypair, TransactionBuilder, xdr


def post(devnet, payload, raw: bool = False):
    data = payload if raw else None
    reply = requests.post(devnet.rpc_url, data=data, json=None if raw else payload, timeout=30)
    return reply.json()


def rpc(devnet, method, params=None):
    return post(devnet, {"jsonrpc": "2.0", "id": 7, "method": method, "params": params})


def error_code(reply) -> int:
    return reply["error"]["code"]


def test_a_body_that_is_not_json_is_a_parse_error(devnet):
    assert error_code(post(devnet, b"{not json", raw=True)) == -32700


@pytest.mark.parametrize("payload", [
    {"id": 1, "method": "getHealth"},
    {"jsonrpc": "1.0", "id": 1, "method": "getHealth"},
    {"jsonrpc": "2.0", "id": 1, "method": 5},
    [],
    "getHealth",
])
def test_a_request_that_is_not_json_rpc_2_is_an_invalid_request(devnet, payload):
    assert error_code(post(devnet, payload)) == -32600


def test_an_unknown_method_is_method_not_found(devnet):
    reply = rpc(devnet, "getEverything")
    assert error_code(reply) == -32601 and reply["id"] == 7


@pytest.mark.parametrize("method,params", [
    ("getLatestLedger", [1, 2]),
    ("getTransaction", {"hash": "abc"}),
    ("getTransaction", {}),
    ("sendTransaction", {"transaction": "%%% not base64 %%%"}),
    ("sendTransaction", {"transaction": base64.b64encode(b"\x00\x00\x00\x02garbage").decode()}),
    ("sendTransaction", {"transaction": 12}),
    ("simulateTransaction", {"transaction": "AAAA"}),
    ("simulateTransaction", {"transaction": "AAAA", "authMode": "whatever"}),
    ("getLedgerEntries", {"keys": []}),
    ("getLedgerEntries", {"keys": ["AAAA"]}),
    ("getLedgerEntries", {"keys": ["AAAAAA"] * 201}),
    ("getEvents", {"startLedger": 1, "pagination": {"limit": 10001}}),
    ("getEvents", {"startLedger": 1, "filters": [{"type": "diagnostic"}]}),
    ("getEvents", {"startLedger": 1, "filters": [{"topics": [["**", "*"]]}]}),
    ("getEvents", {"startLedger": 1, "filters": [{"topics": [["not-an-scval"]]}]}),
    ("getEvents", {"startLedger": 1, "filters": [{"contractIds": ["CNOTACONTRACT"]}]}),
    ("getEvents", {"startLedger": 1, "pagination": {"cursor": "0000000021474840576-0000000000"}}),
    ("getEvents", {"pagination": {"cursor": "nonsense"}}),
    ("getTransactions", {"startLedger": 1, "pagination": {"limit": 201}}),
    ("getLedgers", {"pagination": {"cursor": "x"}}),
    ("devnet_mint", {"to": "GBAD", "amount": 5}),
    ("devnet_mint", {"to": Keypair.random().public_key, "amount": -5}),
])
def test_invalid_params_are_rejected_with_32602(devnet, method, params):
    assert error_code(rpc(devnet, method, params)) == -32602


def test_a_ttl_key_cannot_be_queried(devnet):
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.TTL, ttl=xdr.LedgerKeyTtl(xdr.Hash(bytes(32))))
    assert error_code(rpc(devnet, "getLedgerEntries", {"keys": [key.to_xdr()]})) == -32602


def test_a_decodable_envelope_without_operations_is_an_error_with_a_result_code(devnet):
    source = Keypair.random()
    envelope = TransactionBuilder(Account(source.public_key, 1), devnet.passphrase, base_fee=100) \
        .append_bump_sequence_op(5).set_timeout(300).build()
    envelope.transaction.operations = []
    envelope.sign(source)
    reply = rpc(devnet, "sendTransaction", {"transaction": envelope.to_xdr()})["result"]
    assert reply["status"] == "ERROR"
    code = xdr.TransactionResult.from_xdr(reply["errorResultXdr"]).result.code
    assert code == xdr.TransactionResultCode.txMISSING_OPERATION


def test_simulating_a_classic_operation_is_a_result_error_not_a_json_rpc_error(devnet):
    source = Keypair.random()
    envelope = TransactionBuilder(Account(source.public_key, 1), devnet.passphrase, base_fee=100) \
        .append_bump_sequence_op(5).set_timeout(300).build()
    reply = rpc(devnet, "simulateTransaction", {"transaction": envelope.to_xdr()})
    assert "error" in reply["result"] and reply["result"]["latestLedger"] > 0


def test_batches_get_one_answer_per_request(devnet):
    reply = post(devnet, [{"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
                          {"jsonrpc": "2.0", "id": 2, "method": "nope"}, 5])
    assert reply[0]["result"]["status"] == "healthy"
    assert error_code(reply[1]) == -32601 and error_code(reply[2]) == -32600


def test_other_paths_are_not_found_and_the_server_stays_healthy(devnet):
    assert requests.post(f"{devnet.url}/elsewhere", json={}, timeout=30).status_code == 404
    assert requests.get(f"{devnet.url}/rpc", timeout=30).status_code == 404
    assert rpc(devnet, "getHealth")["result"]["status"] == "healthy"
