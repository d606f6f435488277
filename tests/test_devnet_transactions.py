"""sendTransaction checks envelopes as stellar-core does and applies classic operations and fee bumps."""
from __future__ import annotations

from stellar_sdk import Account, Asset, Keypair, TransactionBuilder, TransactionEnvelope, xdr
from stellar_sdk.auth import authorize_entry
from stellar_sdk.soroban_rpc import GetTransactionStatus, SendTransactionStatus

from chain import calls
from tests.fixtures.devnet import manual_devnet, new_funded_farmer, prepare_and_send, send_and_wait

Code = xdr.TransactionResultCode
KALE = 10_000_000


node = manual_devnet("transactions")


def builder(node, keypair: Keypair, sequence_offset: int = 0, base_fee: int = 100) -> TransactionBuilder:
    source = node.server().load_account(keypair.public_key)
    source.sequence += sequence_offset
    return TransactionBuilder(source, node.passphrase, base_fee=base_fee)


def payment(node, keypair, **kwargs) -> TransactionEnvelope:
    return (builder(node, keypair, **kwargs)
            .append_payment_op(node.info["homesteader"], Asset.native(), "1")
            .set_timeout(300).build())


def rejected(node, envelope) -> xdr.TransactionResultCode:
    sent = node.server().send_transaction(envelope)
    assert sent.status == SendTransactionStatus.ERROR
    return xdr.TransactionResult.from_xdr(sent.error_result_xdr).result.code


def test_a_stale_or_future_sequence_number_is_bad_seq(node, account):
    for offset in (-1, 1):
        envelope = payment(node, account, sequence_offset=offset)
        envelope.sign(account)
        assert rejected(node, envelope) == Code.txBAD_SEQ


def test_signatures_missing_wrong_or_for_another_network_are_bad_auth(node, account):
    unsigned = payment(node, account)
    assert rejected(node, unsigned) == Code.txBAD_AUTH
    wrong_key = payment(node, account)
    wrong_key.sign(Keypair.random())
    assert rejected(node, wrong_key) == Code.txBAD_AUTH
    other_network = TransactionBuilder(node.server().load_account(account.public_key),
                                       "Test SDF Network ; September 2015", base_fee=100) \
        .append_payment_op(node.info["homesteader"], Asset.native(), "1").set_timeout(300).build()
    other_network.sign(account)
    assert rejected(node, other_network) == Code.txBAD_AUTH


def test_an_unneeded_extra_signature_is_bad_auth_extra(node, account):
    envelope = payment(node, account)
    envelope.sign(account)
    envelope.sign(Keypair.random())
    assert rejected(node, envelope) == Code.txBAD_AUTH_EXTRA


def test_time_bounds_outside_the_next_ledger_are_too_late_or_too_early(node, account):
    late = builder(node, account).append_payment_op(node.info["homesteader"], Asset.native(), "1") \
        .add_time_bounds(1, 2).build()
    late.sign(account)
    assert rejected(node, late) == Code.txTOO_LATE
    early = builder(node, account).append_payment_op(node.info["homesteader"], Asset.native(), "1") \
        .add_time_bounds(2**40, 0).build()
    early.sign(account)
    assert rejected(node, early) == Code.txTOO_EARLY


def test_a_fee_below_the_base_fee_is_insufficient_fee(node, account):
    envelope = payment(node, account, base_fee=50)
    envelope.sign(account)
    assert rejected(node, envelope) == Code.txINSUFFICIENT_FEE


def test_a_resource_fee_below_the_minimum_is_insufficient_fee(node):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    envelope = server.prepare_transaction(
        builder(node, farmer).append_operation(calls.plant(node.info["farm_contract"], farmer.public_key, KALE))
        .set_timeout(300).build())
    envelope.transaction.soroban_data.resource_fee = xdr.Int64(envelope.transaction.soroban_data.resource_fee.int64 - 1)
    envelope.sign(farmer)
    assert rejected(node, envelope) == Code.txINSUFFICIENT_FEE


def test_a_source_that_cannot_pay_the_fee_is_insufficient_balance(node, account):
    poor = Keypair.random()
    create = builder(node, account).append_create_account_op(poor.public_key, "1").set_timeout(300).build()
    create.sign(account)
    assert send_and_wait(node, create).status == GetTransactionStatus.SUCCESS
    envelope = payment(node, poor)
    envelope.sign(poor)
    assert rejected(node, envelope) == Code.txINSUFFICIENT_BALANCE


def test_an_unknown_source_account_is_no_account(node):
    stranger = Keypair.random()
    envelope = TransactionBuilder(Account(stranger.public_key, 1), node.passphrase, base_fee=100) \
        .append_payment_op(node.info["homesteader"], Asset.native(), "1").set_timeout(300).build()
    envelope.sign(stranger)
    assert rejected(node, envelope) == Code.txNO_ACCOUNT


def test_the_same_envelope_twice_is_duplicate_and_chained_sequences_are_accepted(node, account):
    first = payment(node, account)
    first.sign(account)
    second = payment(node, account, sequence_offset=1)
    second.sign(account)
    server = node.server()
    assert server.send_transaction(first).status == SendTransactionStatus.PENDING
    assert server.send_transaction(first).status == SendTransactionStatus.DUPLICATE
    assert server.send_transaction(second).status == SendTransactionStatus.PENDING
    assert server.get_transaction(first.hash_hex()).status == GetTransactionStatus.NOT_FOUND
    node.close_ledgers(1)
    one, two = server.get_transaction(first.hash_hex()), server.get_transaction(second.hash_hex())
    assert (one.status, two.status) == (GetTransactionStatus.SUCCESS, GetTransactionStatus.SUCCESS)
    assert one.ledger == two.ledger and two.application_order == one.application_order + 1


def test_fees_are_charged_in_xlm_from_the_source(node, account):
    server = node.server()
    before = balance(node, account.public_key)
    envelope = payment(node, account)
    envelope.sign(account)
    result = send_and_wait(node, envelope)
    charged = xdr.TransactionResult.from_xdr(result.result_xdr).fee_charged.int64
    assert charged == 100
    assert balance(node, account.public_key) == before - charged - 10_000_000
    assert server.load_account(account.public_key).sequence == envelope.transaction.sequence


def balance(node, address: str) -> int:
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT,
                        account=xdr.LedgerKeyAccount(Keypair.from_public_key(address).xdr_account_id()))
    return xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([key]).entries[0].xdr).account.balance.int64


def test_a_fee_bump_is_paid_by_the_fee_source_and_reported_under_the_outer_hash(node, account):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    inner = server.prepare_transaction(
        builder(node, farmer).append_operation(calls.plant(node.info["farm_contract"], farmer.public_key, KALE))
        .set_timeout(300).build())
    inner.sign(farmer)
    bump = TransactionBuilder.build_fee_bump_transaction(account.public_key, 200, inner, node.passphrase)
    bump.sign(account)
    farmer_xlm, sponsor_xlm = balance(node, farmer.public_key), balance(node, account.public_key)
    result = send_and_wait(node, bump)
    assert result.status == GetTransactionStatus.SUCCESS and result.fee_bump
    assert result.transaction_hash == bump.hash_hex()
    outcome = xdr.TransactionResult.from_xdr(result.result_xdr)
    assert outcome.result.code == Code.txFEE_BUMP_INNER_SUCCESS
    assert outcome.result.inner_result_pair.transaction_hash.hash == inner.hash()
    assert balance(node, farmer.public_key) == farmer_xlm
    assert balance(node, account.public_key) == sponsor_xlm - outcome.fee_charged.int64


def test_a_fee_bump_with_a_bad_inner_sequence_is_rejected_as_inner_failed(node, account):
    inner = payment(node, account, sequence_offset=5)
    inner.sign(account)
    sponsor = Keypair.random()
    node.fund(sponsor.public_key)
    bump = TransactionBuilder.build_fee_bump_transaction(sponsor.public_key, 200, inner, node.passphrase)
    bump.sign(sponsor)
    sent = node.server().send_transaction(bump)
    result = xdr.TransactionResult.from_xdr(sent.error_result_xdr).result
    assert result.code == Code.txFEE_BUMP_INNER_FAILED
    assert result.inner_result_pair.result.result.code == Code.txBAD_SEQ


def test_kale_payments_between_trustlines_and_their_failures(node):
    alice, bob = new_funded_farmer(node, kale=10 * KALE), new_funded_farmer(node, kale=0)
    kale = node.kale_asset()
    pay = builder(node, alice).append_payment_op(bob.public_key, kale, "2.5").set_timeout(300).build()
    pay.sign(alice)
    assert send_and_wait(node, pay).status == GetTransactionStatus.SUCCESS
    untrusting = Keypair.random()
    node.fund(untrusting.public_key)
    pay = builder(node, alice).append_payment_op(untrusting.public_key, kale, "1").set_timeout(300).build()
    pay.sign(alice)
    failed = send_and_wait(node, pay)
    assert failed.status == GetTransactionStatus.FAILED
    op = xdr.TransactionResult.from_xdr(failed.result_xdr).result.results[0]
    assert op.tr.payment_result.code == xdr.PaymentResultCode.PAYMENT_NO_TRUST
    too_much = builder(node, bob).append_payment_op(alice.public_key, kale, "3").set_timeout(300).build()
    too_much.sign(bob)
    op = xdr.TransactionResult.from_xdr(send_and_wait(node, too_much).result_xdr).result.results[0]
    assert op.tr.payment_result.code == xdr.PaymentResultCode.PAYMENT_UNDERFUNDED


def test_account_merge_moves_the_whole_balance_after_the_trustline_is_removed(node, account):
    leaving = new_funded_farmer(node, kale=0)
    remove = builder(node, leaving).append_change_trust_op(node.kale_asset(), limit="0") \
        .append_account_merge_op(account.public_key).set_timeout(300).build()
    remove.sign(leaving)
    before = balance(node, account.public_key)
    leaving_xlm = balance(node, leaving.public_key)
    result = send_and_wait(node, remove)
    assert result.status == GetTransactionStatus.SUCCESS
    merged = xdr.TransactionResult.from_xdr(result.result_xdr).result.results[1].tr.account_merge_result
    assert merged.source_account_balance.int64 == leaving_xlm - 200
    assert balance(node, account.public_key) == before + leaving_xlm - 200
    assert node.server().get_ledger_entries([xdr.LedgerKey(
        type=xdr.LedgerEntryType.ACCOUNT,
        account=xdr.LedgerKeyAccount(leaving.xdr_account_id()))]).entries == []


def test_account_merge_with_a_trustline_left_has_sub_entries(node):
    leaving = new_funded_farmer(node, kale=0)
    merge = builder(node, leaving).append_account_merge_op(node.info["homesteader"]).set_timeout(300).build()
    merge.sign(leaving)
    result = send_and_wait(node, merge)
    op = xdr.TransactionResult.from_xdr(result.result_xdr).result.results[0]
    assert op.tr.account_merge_result.code == xdr.AccountMergeResultCode.ACCOUNT_MERGE_HAS_SUB_ENTRIES


def test_a_plant_authorized_by_the_farmers_signature_while_another_account_submits(node, account):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    op = calls.plant(node.info["farm_contract"], farmer.public_key, KALE)
    simulated = server.simulate_transaction(builder(node, account).append_operation(op).set_timeout(300).build())
    entry = xdr.SorobanAuthorizationEntry.from_xdr(simulated.results[0].auth[0])
    assert entry.credentials.type == xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS
    valid_until = server.get_latest_ledger().sequence + 100
    signed = authorize_entry(entry, farmer, valid_until, node.passphrase)
    op = calls.plant(node.info["farm_contract"], farmer.public_key, KALE)
    op.auth = [signed]
    envelope = server.prepare_transaction(builder(node, account).append_operation(op).set_timeout(300).build())
    envelope.sign(account)
    assert send_and_wait(node, envelope).status == GetTransactionStatus.SUCCESS

    # the same signed entry cannot be used twice: its nonce is spent
    op = calls.plant(node.info["farm_contract"], farmer.public_key, KALE)
    op.auth = [signed]
    assert "Error(Auth" in (server.simulate_transaction(
        builder(node, account).append_operation(op).set_timeout(300).build()).error or "")


def test_an_address_credential_signed_by_another_key_is_refused(node, account):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    op = calls.plant(node.info["farm_contract"], farmer.public_key, KALE)
    simulated = server.simulate_transaction(builder(node, account).append_operation(op).set_timeout(300).build())
    entry = xdr.SorobanAuthorizationEntry.from_xdr(simulated.results[0].auth[0])
    forged = authorize_entry(entry, Keypair.random(), server.get_latest_ledger().sequence + 100, node.passphrase)
    op.auth = [forged]
    assert "Error(Auth" in (server.simulate_transaction(
        builder(node, account).append_operation(op).set_timeout(300).build()).error or "")


def test_a_plant_by_the_farmer_itself_uses_source_account_credentials(node):
    farmer = new_funded_farmer(node, kale=10 * KALE)
    server = node.server()
    op = calls.plant(node.info["farm_contract"], farmer.public_key, KALE)
    simulated = server.simulate_transaction(builder(node, farmer).append_operation(op).set_timeout(300).build())
    entry = xdr.SorobanAuthorizationEntry.from_xdr(simulated.results[0].auth[0])
    assert entry.credentials.type == xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
    burn = entry.root_invocation.sub_invocations[0].function.contract_fn
    assert burn.function_name.sc_symbol == b"burn"
    assert prepare_and_send(node, farmer, op).status == GetTransactionStatus.SUCCESS
