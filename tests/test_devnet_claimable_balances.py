"""Claimable balances on the devnet behave as stellar-core's (CAP-23): ids, predicates, sponsorship, events."""
from __future__ import annotations

import pytest
from stellar_sdk import (AccountMerge, Address, Asset, ChangeTrust, ClaimClaimableBalance, Claimant, ClaimPredicate,
                         CreateClaimableBalance, Keypair, Payment, StrKey, TransactionBuilder, scval, xdr)
from stellar_sdk.soroban_rpc import GetTransactionStatus

from chain.amounts import format_stroops
from devnet.genesis import kale_issuer
from tests.fixtures.devnet import Devnet, manual_devnet, new_funded_farmer, send_and_wait

KALE = 10_000_000
BASE_RESERVE = 5_000_000
FEE = 100
Create = xdr.CreateClaimableBalanceResultCode
Claim = xdr.ClaimClaimableBalanceResultCode


node = manual_devnet("claimable")


def submit(node: Devnet, signer: Keypair, *operations):
    """One transaction from `signer` with `operations`, sent and applied: (envelope, getTransaction)."""
    builder = TransactionBuilder(node.server().load_account(signer.public_key), node.passphrase, base_fee=FEE)
    for operation in operations:
        builder.append_operation(operation)
    envelope = builder.set_timeout(300).build()
    envelope.sign(signer)
    return envelope, send_and_wait(node, envelope)


def op_result(applied) -> xdr.OperationResultTr:
    return xdr.TransactionResult.from_xdr(applied.result_xdr).result.results[0].tr


def create(node, signer, claimants, asset=None, amount="1", **kwargs):
    """Create a balance; (its hex id as stellar_sdk computes it, result code, getTransaction)."""
    envelope, applied = submit(node, signer, CreateClaimableBalance(asset or Asset.native(), amount, claimants,
                                                                    **kwargs))
    return envelope.transaction.get_claimable_balance_id(0), \
        op_result(applied).create_claimable_balance_result.code, applied


def claim(node, signer, balance_id: str) -> xdr.ClaimClaimableBalanceResultCode:
    _, applied = submit(node, signer, ClaimClaimableBalance(balance_id))
    return op_result(applied).claim_claimable_balance_result.code


def balance_key(balance_id: str) -> xdr.LedgerKey:
    return xdr.LedgerKey(type=xdr.LedgerEntryType.CLAIMABLE_BALANCE, claimable_balance=xdr.LedgerKeyClaimableBalance(
        xdr.ClaimableBalanceID.from_xdr_bytes(bytes.fromhex(balance_id))))


def stored_balance(node, balance_id: str) -> xdr.ClaimableBalanceEntry | None:
    entries = node.server().get_ledger_entries([balance_key(balance_id)]).entries
    return xdr.LedgerEntryData.from_xdr(entries[0].xdr).claimable_balance if entries else None


def account_entry(node, address: str) -> xdr.AccountEntry:
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.ACCOUNT,
                        account=xdr.LedgerKeyAccount(Keypair.from_public_key(address).xdr_account_id()))
    return xdr.LedgerEntryData.from_xdr(node.server().get_ledger_entries([key]).entries[0].xdr).account


def num_sponsoring(node, address: str) -> int:
    ext = account_entry(node, address).ext
    return ext.v1.ext.v2.num_sponsoring.uint32 if ext.v == 1 and ext.v1.ext.v == 2 else 0


def xlm(node, address: str) -> int:
    return account_entry(node, address).balance.int64


def kale_balance(node, address: str) -> int | None:
    key = xdr.LedgerKey(type=xdr.LedgerEntryType.TRUSTLINE, trust_line=xdr.LedgerKeyTrustLine(
        Keypair.from_public_key(address).xdr_account_id(),
        xdr.TrustLineAsset.from_xdr_bytes(node.kale_asset().to_xdr_object().to_xdr_bytes())))
    entries = node.server().get_ledger_entries([key]).entries
    return xdr.LedgerEntryData.from_xdr(entries[0].xdr).trust_line.balance.int64 if entries else None


def close_time(node) -> int:
    return int(node.call("getLatestLedger")["closeTime"])


def unconditional(keypair: Keypair) -> Claimant:
    return Claimant(keypair.public_key, ClaimPredicate.predicate_unconditional())


def test_the_balance_id_is_the_one_stellar_sdk_predicts_and_the_result_returns(node, account):
    balance_id, code, applied = create(node, account, [unconditional(Keypair.random())])
    assert code == Create.CREATE_CLAIMABLE_BALANCE_SUCCESS
    returned = op_result(applied).create_claimable_balance_result.balance_id
    assert returned.to_xdr_bytes().hex() == balance_id
    assert stored_balance(node, balance_id).balance_id == returned


def test_relative_times_are_stored_as_absolute_from_the_creating_ledger(node, account):
    claimants = [
        unconditional(Keypair.random()),
        Claimant(Keypair.random().public_key, ClaimPredicate.predicate_before_absolute_time(4_000_000_000)),
        Claimant(Keypair.random().public_key, ClaimPredicate.predicate_before_relative_time(600)),
        Claimant(Keypair.random().public_key,
                 ClaimPredicate.predicate_not(ClaimPredicate.predicate_before_relative_time(60))),
        Claimant(Keypair.random().public_key, ClaimPredicate.predicate_and(
            ClaimPredicate.predicate_before_relative_time(30),
            ClaimPredicate.predicate_or(ClaimPredicate.predicate_unconditional(),
                                        ClaimPredicate.predicate_before_absolute_time(7)))),
    ]
    balance_id, code, applied = create(node, account, claimants)
    assert code == Create.CREATE_CLAIMABLE_BALANCE_SUCCESS
    created_at = int(applied.create_at)  # stellar_sdk names createdAt "create_at"
    stored = [c.v0.predicate for c in stored_balance(node, balance_id).claimants]
    Kind = xdr.ClaimPredicateType
    assert stored[0].type == Kind.CLAIM_PREDICATE_UNCONDITIONAL
    assert stored[1].abs_before.int64 == 4_000_000_000
    assert (stored[2].type, stored[2].abs_before.int64) == (Kind.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME,
                                                            created_at + 600)
    assert stored[3].not_predicate.abs_before.int64 == created_at + 60
    assert stored[4].and_predicates[0].abs_before.int64 == created_at + 30
    assert stored[4].and_predicates[1].or_predicates[1].abs_before.int64 == 7


@pytest.mark.parametrize("predicate, claimable_now", [
    (lambda now: ClaimPredicate.predicate_unconditional(), True),
    (lambda now: ClaimPredicate.predicate_before_absolute_time(now + 3600), True),
    (lambda now: ClaimPredicate.predicate_before_absolute_time(now), False),
    (lambda now: ClaimPredicate.predicate_before_relative_time(3600), True),
    (lambda now: ClaimPredicate.predicate_before_relative_time(0), False),
    (lambda now: ClaimPredicate.predicate_not(ClaimPredicate.predicate_before_absolute_time(now)), True),
    (lambda now: ClaimPredicate.predicate_not(ClaimPredicate.predicate_before_relative_time(3600)), False),
    (lambda now: ClaimPredicate.predicate_and(ClaimPredicate.predicate_unconditional(),
                                              ClaimPredicate.predicate_before_absolute_time(now)), False),
    (lambda now: ClaimPredicate.predicate_or(ClaimPredicate.predicate_before_absolute_time(now),
                                             ClaimPredicate.predicate_unconditional()), True),
], ids=["unconditional", "before-absolute", "before-absolute-passed", "before-relative", "before-relative-0",
        "after-absolute-passed", "after-relative-not-yet", "and", "or"])
def test_predicates_are_evaluated_against_the_close_time_of_the_claiming_ledger(node, account, predicate,
                                                                                  claimable_now):
    claimant = Keypair.random()
    node.fund(claimant.public_key)
    balance_id, code, _ = create(node, account, [Claimant(claimant.public_key, predicate(close_time(node)))])
    assert code == Create.CREATE_CLAIMABLE_BALANCE_SUCCESS
    expected = Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS if claimable_now else Claim.CLAIM_CLAIMABLE_BALANCE_CANNOT_CLAIM
    assert claim(node, claimant, balance_id) == expected


def test_an_after_relative_time_claimant_can_claim_once_that_time_has_passed(node, account):
    claimant = Keypair.random()
    node.fund(claimant.public_key)
    after_a_minute = ClaimPredicate.predicate_not(ClaimPredicate.predicate_before_relative_time(60))
    balance_id, _, _ = create(node, account, [Claimant(claimant.public_key, after_a_minute)])
    assert claim(node, claimant, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_CANNOT_CLAIM
    node.close_ledgers(60 // node.info["ledger_seconds"])
    assert claim(node, claimant, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS


def test_a_claim_pays_the_claimant_and_removes_the_entry(node, account):
    claimant = Keypair.random()
    node.fund(claimant.public_key)
    before = xlm(node, claimant.public_key)
    balance_id, _, _ = create(node, account, [unconditional(claimant)], amount="12.5")
    _, claimed = submit(node, claimant, ClaimClaimableBalance(balance_id))
    assert op_result(claimed).claim_claimable_balance_result.code == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS
    assert xlm(node, claimant.public_key) == before + 125_000_000 - FEE
    assert stored_balance(node, balance_id) is None
    changes = xdr.TransactionMeta.from_xdr(claimed.result_meta_xdr).v4.operations[0].changes.ledger_entry_changes
    assert [c.removed for c in changes if c.type == xdr.LedgerEntryChangeType.LEDGER_ENTRY_REMOVED] == \
        [balance_key(balance_id)]
    assert claim(node, claimant, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_DOES_NOT_EXIST


def test_a_creator_can_claim_its_own_balance_back(node, account):
    before = xlm(node, account.public_key)
    balance_id, _, _ = create(node, account, [unconditional(account)], amount="7")
    assert claim(node, account, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS
    assert xlm(node, account.public_key) == before - 2 * FEE
    assert num_sponsoring(node, account.public_key) == 0


def test_only_a_listed_claimant_can_claim(node, account):
    stranger = Keypair.random()
    node.fund(stranger.public_key)
    balance_id, _, _ = create(node, account, [unconditional(Keypair.random())])
    assert claim(node, stranger, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_CANNOT_CLAIM
    assert stored_balance(node, balance_id) is not None


def test_kale_leaves_the_creators_trustline_and_a_claimant_needs_one_to_claim(node):
    pooler = new_funded_farmer(node, kale=100 * KALE)
    payee = Keypair.random()
    node.fund(payee.public_key)
    balance_id, code, _ = create(node, pooler, [unconditional(payee)], asset=node.kale_asset(), amount="40")
    assert code == Create.CREATE_CLAIMABLE_BALANCE_SUCCESS
    assert kale_balance(node, pooler.public_key) == 60 * KALE
    assert claim(node, payee, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_NO_TRUST
    submit(node, payee, ChangeTrust(node.kale_asset()))
    assert claim(node, payee, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS
    assert kale_balance(node, payee.public_key) == 40 * KALE


def test_creating_fails_without_trustline_funds_or_well_formed_claimants(node, account):
    someone = Keypair.random()
    kale = node.kale_asset()
    assert create(node, account, [unconditional(someone)], asset=kale)[1] == Create.CREATE_CLAIMABLE_BALANCE_NO_TRUST
    holder = new_funded_farmer(node, kale=KALE)
    assert create(node, holder, [unconditional(someone)], asset=kale, amount="2")[1] == \
        Create.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED
    assert create(node, account, [unconditional(someone)], amount="20000")[1] == \
        Create.CREATE_CLAIMABLE_BALANCE_UNDERFUNDED
    assert create(node, account, [unconditional(someone), unconditional(someone)])[1] == \
        Create.CREATE_CLAIMABLE_BALANCE_MALFORMED
    too_deep = ClaimPredicate.predicate_unconditional()
    for _ in range(4):
        too_deep = ClaimPredicate.predicate_not(too_deep)
    assert create(node, account, [Claimant(someone.public_key, too_deep)])[1] == \
        Create.CREATE_CLAIMABLE_BALANCE_MALFORMED


def test_the_creator_sponsors_one_reserve_per_claimant(node, account):
    first, second = Keypair.random(), Keypair.random()
    node.fund(first.public_key)
    balance_id, _, applied = create(node, account, [unconditional(first), unconditional(second)])
    assert num_sponsoring(node, account.public_key) == 2
    meta = xdr.TransactionMeta.from_xdr(applied.result_meta_xdr).v4.operations[0].changes.ledger_entry_changes
    created = [c.created for c in meta if c.type == xdr.LedgerEntryChangeType.LEDGER_ENTRY_CREATED]
    assert [e.data.type for e in created] == [xdr.LedgerEntryType.CLAIMABLE_BALANCE]
    assert created[0].ext.v1.sponsoring_id.sponsorship_descriptor.account_id.ed25519.uint256 == \
        account.raw_public_key()
    assert claim(node, first, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS
    assert num_sponsoring(node, account.public_key) == 0


def test_sponsoring_raises_the_minimum_balance_for_payments_and_fees(node, account):
    create(node, account, [unconditional(Keypair.random()), unconditional(Keypair.random())])
    minimum = (2 + 0 + 2) * BASE_RESERVE
    spendable = xlm(node, account.public_key) - FEE - minimum
    home = node.info["homesteader"]
    _, too_much = submit(node, account, Payment(home, Asset.native(), format_stroops(spendable + 1)))
    assert op_result(too_much).payment_result.code == xdr.PaymentResultCode.PAYMENT_UNDERFUNDED
    _, exact = submit(node, account, Payment(home, Asset.native(), format_stroops(spendable - FEE)))
    assert exact.status == GetTransactionStatus.SUCCESS
    assert xlm(node, account.public_key) == minimum
    envelope = (TransactionBuilder(node.server().load_account(account.public_key), node.passphrase, base_fee=FEE)
                .append_operation(Payment(home, Asset.native(), "1")).set_timeout(300).build())
    envelope.sign(account)
    sent = node.server().send_transaction(envelope)
    assert xdr.TransactionResult.from_xdr(sent.error_result_xdr).result.code == \
        xdr.TransactionResultCode.txINSUFFICIENT_BALANCE


def test_a_creator_without_the_reserve_gets_low_reserve(node, account):
    spendable = xlm(node, account.public_key) - FEE - 2 * BASE_RESERVE
    balance_id, code, _ = create(node, account, [unconditional(Keypair.random())],
                                 amount=format_stroops(spendable - BASE_RESERVE + 1))
    assert code == Create.CREATE_CLAIMABLE_BALANCE_LOW_RESERVE
    assert stored_balance(node, balance_id) is None and num_sponsoring(node, account.public_key) == 0


def test_merge_is_refused_while_sponsoring_and_allowed_after_the_claim(node, account):
    claimant = Keypair.random()
    node.fund(claimant.public_key)
    balance_id, _, _ = create(node, account, [unconditional(claimant)])
    node.close_ledgers(1)  # a merge needs a sequence number below the next ledger's starting one
    _, refused = submit(node, account, _merge(node))
    assert op_result(refused).account_merge_result.code == xdr.AccountMergeResultCode.ACCOUNT_MERGE_IS_SPONSOR
    assert claim(node, claimant, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS
    _, merged = submit(node, account, _merge(node))
    assert merged.status == GetTransactionStatus.SUCCESS


def test_balances_and_their_sponsorship_survive_a_restart(devnet_factory):
    node = devnet_factory(close_interval=0)
    creator, claimant = Keypair.random(), Keypair.random()
    node.fund(creator.public_key)
    node.fund(claimant.public_key)
    balance_id, _, _ = create(node, creator, [unconditional(claimant)], amount="3")
    before = node.server().get_ledger_entries([balance_key(balance_id)]).entries[0]

    node.restart()

    after = node.server().get_ledger_entries([balance_key(balance_id)]).entries[0]
    assert (after.xdr, after.last_modified_ledger) == (before.xdr, before.last_modified_ledger)
    assert num_sponsoring(node, creator.public_key) == 1
    assert claim(node, claimant, balance_id) == Claim.CLAIM_CLAIMABLE_BALANCE_SUCCESS
    assert num_sponsoring(node, creator.public_key) == 0


def test_kale_moving_in_and_out_emits_sac_events_with_the_balance_address(node):
    pooler = new_funded_farmer(node, kale=10 * KALE)
    payee = new_funded_farmer(node, kale=0)
    kale = node.kale_asset()
    balance_id, _, created = create(node, pooler, [unconditional(payee)], asset=kale, amount="4")
    _, claimed = submit(node, payee, ClaimClaimableBalance(balance_id))
    issuer_id, _, minted = create(node, kale_issuer(), [unconditional(payee)], asset=kale, amount="1")
    balance = Address(_strkey(balance_id)).to_xdr_sc_val()
    name = scval.to_string(f"{kale.code}:{kale.issuer}")
    assert _events(node, created.ledger, claimed.ledger + 1) == [
        [scval.to_symbol("transfer"), scval.to_address(pooler.public_key), balance, name],
        [scval.to_symbol("transfer"), balance, scval.to_address(payee.public_key), name],
    ]
    assert _events(node, minted.ledger, minted.ledger + 1) == [
        [scval.to_symbol("mint"), Address(_strkey(issuer_id)).to_xdr_sc_val(), name]]


def _events(node, start: int, end: int) -> list[list[xdr.SCVal]]:
    """Topics of the KALE SAC's contract events in [start, end)."""
    found = node.call("getEvents", {"startLedger": start, "endLedger": end,
                                    "filters": [{"type": "contract", "contractIds": [node.info["kale_sac"]]}]})
    return [[xdr.SCVal.from_xdr(t) for t in e["topic"]] for e in found["events"]]


def _strkey(balance_id: str) -> str:
    """The B... address of a balance from its hex ClaimableBalanceID XDR (4-byte type -> 1-byte type)."""
    return StrKey.encode_claimable_balance(bytes.fromhex(balance_id)[3:])


def _merge(node) -> AccountMerge:
    return AccountMerge(node.info["homesteader"])
