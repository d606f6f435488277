"""Classifying custody ledger movements from transactions built with stellar_sdk (pure logic, no
chain): claimable balances, merges, fee bumps, harvest splits and wallet-to-wallet transfers,
each as legs that sum to zero."""
from __future__ import annotations

import base64

from stellar_sdk import Account, Asset, Claimant, Keypair, TransactionBuilder, xdr

from config.networks import DEVNET
from devnet.meta import fee_bump_result
from indexer.custody_ledger import Context, entries
from indexer.decode import Scope, decode_transaction
from indexer.source import RawTransaction
from indexer.xlm_movements import Movement, fee_movement, operation_movements

WALLET, OTHER_WALLET = Keypair.random().public_key, Keypair.random().public_key
OUTSIDER = Keypair.random().public_key
KALE = Asset(DEVNET.kale_asset_code, DEVNET.kale_asset_issuer)
BALANCE_ID = xdr.ClaimableBalanceID(xdr.ClaimableBalanceIDType.CLAIMABLE_BALANCE_ID_TYPE_V0,
                                    v0=xdr.Hash(b"\x07" * 32))
BALANCE_HEX = BALANCE_ID.to_xdr_bytes().hex()
OT = xdr.OperationType


def _op_result(kind: xdr.OperationType, **result) -> xdr.OperationResult:
    return xdr.OperationResult(xdr.OperationResultCode.opINNER, tr=xdr.OperationResultTr(kind, **result))


def _created() -> xdr.OperationResult:
    return _op_result(OT.CREATE_CLAIMABLE_BALANCE, create_claimable_balance_result=xdr.CreateClaimableBalanceResult(
        xdr.CreateClaimableBalanceResultCode.CREATE_CLAIMABLE_BALANCE_SUCCESS, balance_id=BALANCE_ID))


def _merged(amount: int) -> xdr.OperationResult:
    return _op_result(OT.ACCOUNT_MERGE, account_merge_result=xdr.AccountMergeResult(
        xdr.AccountMergeResultCode.ACCOUNT_MERGE_SUCCESS, source_account_balance=xdr.Int64(amount)))


def _claimed() -> xdr.OperationResult:
    return _op_result(OT.CLAIM_CLAIMABLE_BALANCE, claim_claimable_balance_result=xdr.ClaimClaimableBalanceResult(
        xdr.ClaimClaimableBalanceResultCode.CLAIM_CLAIMABLE_BALANCE_SUCCESS))


def _builder(source: str) -> TransactionBuilder:
    return TransactionBuilder(Account(source, 1), DEVNET.passphrase, base_fee=100).set_timeout(0)


def _row(envelope, results: list[xdr.OperationResult], fee: int = 100, known: str = WALLET,
         result: xdr.TransactionResult | None = None) -> dict:
    """The chain_transactions row the indexer stores of `envelope` landed successfully."""
    result = result or xdr.TransactionResult(xdr.Int64(fee), xdr.TransactionResultResult(
        xdr.TransactionResultCode.txSUCCESS, results=results), xdr.TransactionResultExt(0))
    raw = RawTransaction(envelope.hash_hex(), 50, 3, "SUCCESS", False, 0, envelope.to_xdr(),
                         base64.b64encode(result.to_xdr_bytes()).decode(), "", ())
    decoded = decode_transaction(raw, Scope(DEVNET, False, frozenset({known})))
    assert decoded is not None, "the pool scope must keep this transaction"
    return decoded[0]


def _context(rows: list[dict], pool_actions: dict | None = None, pails: dict | None = None) -> Context:
    return Context(DEVNET, {WALLET: 1, OTHER_WALLET: 2}, {r["hash"]: r for r in rows}, pool_actions or {},
                   pails or {}, {})


def _legs(movement: Movement, context: Context) -> dict[str, dict]:
    rows = entries(movement, context)
    assert sum(r["amount"] for r in rows) == 0 and len(rows) % 2 == 0
    return {r["account"]: r for r in rows}


def test_a_claimable_balance_the_wallet_creates_moves_kale_to_the_balance_unexplained_unless_the_pool_paid():
    envelope = _builder(WALLET).append_create_claimable_balance_op(KALE, "2", [Claimant(OUTSIDER)]).build()
    row = _row(envelope, [_created()])
    assert row["operations"][0] == {"type": "create_claimable_balance", "asset": DEVNET.kale_asset,
                                    "amount": 20_000_000, "claimants": [OUTSIDER], "balance_id": BALANCE_HEX}
    [movement] = operation_movements(row, DEVNET.kale_asset, lambda _: None)
    legs = _legs(movement, _context([row]))
    assert (legs[WALLET]["amount"], legs[WALLET]["asset"], legs[WALLET]["entry_class"]) == (-20_000_000, "KALE",
                                                                                       "unexplained")
    assert legs[f"claimable:{BALANCE_HEX}"]["amount"] == 20_000_000
    paid = _legs(movement, _context([row], pool_actions={row["hash"]: "payout"}))
    assert {r["entry_class"] for r in paid.values()} == {"payout"}


def test_a_claimable_balance_naming_a_wallet_as_claimant_is_kept_by_the_pool_scope():
    envelope = _builder(OUTSIDER).append_create_claimable_balance_op(Asset.native(), "1",
                                                                      [Claimant(WALLET)]).build()
    row = _row(envelope, [_created()], known=WALLET)
    assert row["operations"][0]["claimants"] == [WALLET]


def test_claiming_a_balance_into_the_wallet_deposits_what_the_balance_was_created_with():
    envelope = _builder(WALLET).append_claim_claimable_balance_op(BALANCE_HEX).build()
    row = _row(envelope, [_claimed()])
    assert row["operations"][0] == {"type": "claim_claimable_balance", "balance_id": BALANCE_HEX}
    [movement] = operation_movements(row, DEVNET.kale_asset, {BALANCE_HEX: ("native", 5)}.get)
    legs = _legs(movement, _context([row]))
    assert (legs[WALLET]["amount"], legs[WALLET]["asset"], legs[WALLET]["entry_class"]) == (5, "XLM", "deposit")
    assert legs[f"claimable:{BALANCE_HEX}"]["amount"] == -5


def test_a_merge_moves_the_merged_balance_from_the_result_and_a_pool_close_is_a_payout():
    envelope = _builder(WALLET).append_account_merge_op(OUTSIDER).build()
    row = _row(envelope, [_merged(9_999_900)])
    [movement] = operation_movements(row, DEVNET.kale_asset, lambda _: None)
    legs = _legs(movement, _context([row], pool_actions={row["hash"]: "close"}))
    assert (legs[WALLET]["amount"], legs[WALLET]["entry_class"]) == (-9_999_900, "payout")
    assert legs[f"external:{OUTSIDER}"]["counterparty"] == WALLET


def test_the_fee_of_a_fee_bumped_transaction_is_charged_to_its_fee_source_not_the_wallet():
    inner = _builder(WALLET).append_payment_op(OUTSIDER, Asset.native(), "1").build()
    inner.sign(Keypair.random())
    bump = TransactionBuilder.build_fee_bump_transaction(OUTSIDER, 200, inner, DEVNET.passphrase)
    success = xdr.TransactionResult(xdr.Int64(0), xdr.TransactionResultResult(
        xdr.TransactionResultCode.txSUCCESS, results=[_op_result(OT.PAYMENT, payment_result=xdr.PaymentResult(
            xdr.PaymentResultCode.PAYMENT_SUCCESS))]), xdr.TransactionResultExt(0))
    row = _row(bump, [], result=fee_bump_result(400, inner.hash(), success))
    fee = fee_movement(row)
    assert (fee.sender, fee.amount) == (OUTSIDER, 400)
    own = fee_movement(_row(inner, [_op_result(OT.PAYMENT, payment_result=xdr.PaymentResult(
        xdr.PaymentResultCode.PAYMENT_SUCCESS))], fee=100))
    legs = _legs(own, _context([]))
    assert (legs[WALLET]["amount"], legs[WALLET]["entry_class"], legs["network:fees"]["amount"]) == (-100, "fee", 100)


def test_a_harvest_mint_splits_into_stake_returned_and_reward_for_the_pooler_that_planted():
    tx = {"hash": "ab" * 32, "kind": "harvest", "successful": True, "farmer": WALLET, "block_index": 7,
          "stake": 40}
    mint = Movement("0000000214748368896-0000000000", "p", 50, tx["hash"], "KALE", "mint", None, WALLET, 100)
    rows = entries(mint, _context([tx], pails={(WALLET, 7): (40, 3)}))
    wallet = {r["entry_class"]: r for r in rows if r["account"] == WALLET}
    assert (wallet["stake_returned"]["amount"], wallet["reward"]["amount"]) == (40, 60)
    assert {(r["block_index"], r["pooler"]) for r in rows} == {(7, 3)}
    assert sorted((r["account"], r["amount"]) for r in rows if r["account"] != WALLET) == [
        ("farm:mint", -60), ("farm:stake", -40)]
    assert sum(r["amount"] for r in rows) == 0


def test_a_transfer_between_two_wallets_is_one_movement_seen_from_each_side():
    transfer = Movement("0000000214748368896-0000000001", "p", 50, "cd" * 32, "KALE", "transfer", WALLET,
                        OTHER_WALLET, 5)
    legs = _legs(transfer, _context([]))
    assert (legs[WALLET]["entry_class"], legs[WALLET]["farmer"]) == ("unexplained", 1)
    assert (legs[OTHER_WALLET]["entry_class"], legs[OTHER_WALLET]["farmer"]) == ("deposit", 2)
