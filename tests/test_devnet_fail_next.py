"""devnet_failNext (test-only): a marked source's next transactions land on chain as failed, as on the real network."""
from __future__ import annotations

import pytest
from stellar_sdk import Asset, Keypair, Payment, TransactionBuilder, scval, xdr
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain import calls
from tests.fixtures.devnet import Devnet, DevnetError, new_funded_farmer, prepare_and_send, send_and_wait

KALE = 10_000_000
FEE = 100


@pytest.fixture
def node(devnet):
    """The session devnet: marks are per source, so fresh accounts keep tests apart."""
    return devnet


def pay(node: Devnet, signer: Keypair, destination: str, amount: str = "1", asset: Asset | None = None):
    envelope = (TransactionBuilder(node.server().load_account(signer.public_key), node.passphrase, base_fee=FEE)
                .append_operation(Payment(destination, asset or Asset.native(), amount)).set_timeout(300).build())
    envelope.sign(signer)
    return send_and_wait(node, envelope)


def xlm(node, address: str) -> int:
    return _account(node, address).balance.int64


def _account(node, address: str) -> xdr.AccountEntry:
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT,
                        account=xdr.LedgerKeyAccount(Keypair.from_public_key(address).xdr_account_id()))
    return xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([key]).entries[0].xdr).account


def first_op(applied) -> xdr.OperationResultTr:
    result = xdr.TransactionResult.from_xdr(applied.result_xdr)
    assert result.result.code == xdr.TransactionResultCode.txFAILED
    return result.result.results[0].tr


def test_a_marked_payment_lands_failed_with_only_its_fee_charged_and_sequence_used(node, account):
    home = Keypair.random().public_key
    node.fund(home)
    before, home_before = _account(node, account.public_key), xlm(node, home)
    node.fail_next(account.public_key, 1)
    applied = pay(node, account, home, "5")
    assert applied.status == GetTransactionStatus.FAILED
    assert first_op(applied).payment_result.code == xdr.PaymentResultCode.PAYMENT_UNDERFUNDED
    after = _account(node, account.public_key)
    assert after.balance.int64 == before.balance.int64 - FEE
    assert after.seq_num.sequence_number.int64 == before.seq_num.sequence_number.int64 + 1
    assert xlm(node, home) == home_before
    assert xdr.TransactionResult.from_xdr(applied.result_xdr).fee_charged.int64 == FEE


def test_a_marked_soroban_invocation_is_trapped_and_moves_no_kale(node):
    sender = new_funded_farmer(node, kale=10 * KALE)
    receiver = new_funded_farmer(node, kale=0)
    transfer = calls.invoke(node.info["kale_sac"], "transfer", [
        scval.to_address(sender.public_key), scval.to_address(receiver.public_key), scval.to_int128(3 * KALE)])
    node.fail_next(sender.public_key)
    applied = prepare_and_send(node, sender, transfer)
    assert applied.status == GetTransactionStatus.FAILED
    assert first_op(applied).invoke_host_function_result.code == \
        xdr.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_TRAPPED
    events = node.call("getEvents", {"startLedger": applied.ledger, "endLedger": applied.ledger + 1})["events"]
    assert [e["topic"][0] for e in events if e["txHash"] == applied.transaction_hash] == \
        [scval.to_symbol("fee").to_xdr()]
    assert prepare_and_send(node, sender, transfer).status == GetTransactionStatus.SUCCESS


def test_a_marked_inner_source_fails_its_fee_bump_as_inner_failed(node, account):
    sponsor = Keypair.random()
    node.fund(sponsor.public_key)
    inner = (TransactionBuilder(node.server().load_account(account.public_key), node.passphrase, base_fee=FEE)
             .append_operation(Payment(sponsor.public_key, Asset.native(), "1")).set_timeout(300).build())
    inner.sign(account)
    bump = TransactionBuilder.build_fee_bump_transaction(sponsor.public_key, 2 * FEE, inner, node.passphrase)
    bump.sign(sponsor)
    node.fail_next(account.public_key)
    applied = send_and_wait(node, bump)
    assert applied.status == GetTransactionStatus.FAILED
    result = xdr.TransactionResult.from_xdr(applied.result_xdr).result
    assert result.code == xdr.TransactionResultCode.txFEE_BUMP_INNER_FAILED
    assert result.inner_result_pair.result.result.results[0].tr.payment_result.code == \
        xdr.PaymentResultCode.PAYMENT_UNDERFUNDED


def test_only_the_next_count_transactions_of_that_source_fail(node, account):
    other = Keypair.random()
    node.fund(other.public_key)
    home = node.info["homesteader"]
    node.fail_next(account.public_key, 2)
    assert pay(node, other, home).status == GetTransactionStatus.SUCCESS
    assert [pay(node, account, home).status for _ in range(3)] == [
        GetTransactionStatus.FAILED, GetTransactionStatus.FAILED, GetTransactionStatus.SUCCESS]


def test_a_count_of_zero_cancels_the_mark(node, account):
    node.fail_next(account.public_key, 3)
    node.fail_next(account.public_key, 0)
    assert pay(node, account, node.info["homesteader"]).status == GetTransactionStatus.SUCCESS


def test_a_failed_transaction_is_on_chain_in_get_transactions(node, account):
    node.fail_next(account.public_key)
    applied = pay(node, account, node.info["homesteader"])
    listed = node.call("getTransactions", {"startLedger": applied.ledger, "pagination": {"limit": 200}})
    mine = [t for t in listed["transactions"] if t["txHash"] == applied.transaction_hash]
    assert [(t["status"], t["ledger"]) for t in mine] == [("FAILED", applied.ledger)]


@pytest.mark.parametrize("params", [{"source": "not-an-account", "count": 1}, {"count": 1},
                                    {"source": Keypair.random().public_key, "count": -1}])
def test_bad_parameters_are_invalid_params(node, params):
    with pytest.raises(DevnetError, match="-32602"):
        node.call("devnet_failNext", params)
