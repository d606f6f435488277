"""Exit settlement: once a leaving farmer's last pails are closed on chain, split its pool
rewards by pail (db.settlement_figures) and pay everything out, exactly once, until it lands.

The settlement fixes what the poolers (and their creditors) are owed. The payout transaction
is planned from the chain state when it is built (jobs.payout_plan) and, if it lands as
failed (dust arrived, the balance changed, the fee was too low), rebuilt from fresh state by
the outbox until one lands; every attempt stays in tx_attempts. A claimable balance the
payout created keeps the wallet open (it sponsors the entry's reserve) until the claimant
claims it; then a close merges the wallet into the farmer's payout account.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from peewee import fn
from stellar_sdk import (AccountMerge, Asset, CreateAccount, CreateClaimableBalance, Payment, Transaction,
                         TransactionEnvelope, xdr)
from stellar_sdk.soroban_rpc import GetTransactionResponse

from chain.amounts import parse_amount
from chain.custody import Signer
from chain.rpc import ChainClient
from chain.transactions import build_classic
from db.chain_models import settlement_blocker
from db.connection import database
from db.models import (Compensation, DebtCollection, Farmer, Payout, PoolerDebt, Settlement, SettlementPeriod,
                       TxIntent)
from db.payout_address import effective_payout_address
from db.settlement_figures import compute, pails
from db.sponsored_fees import sponsor_of, sponsored_fees_total
from jobs.condition_log import ConditionLog
from jobs.harvest import adopt_chain_harvests
from jobs.outbox import LIVE, Action, Outbox, handles
from jobs.payout_plan import Leg, kale_legs, plan

log = logging.getLogger(__name__)

PAYOUT_ACTIONS = ("payout", "close")


def payout_key(settlement_id: int) -> str:
    """The outbox idempotency key of a settlement's payout transaction."""
    return f"payout:settlement:{settlement_id}"


def close_key(settlement_id: int) -> str:
    """The outbox idempotency key of the merge that closes a wallet kept open by claimable balances."""
    return f"close:settlement:{settlement_id}"


def owed_legs(settlement: Settlement) -> list[Leg]:
    """What the settlement owes poolers and the poolers' creditors, in payout order."""
    legs = [Leg("pooler", period.pooler.payout_address, period.amount, pooler_id=period.pooler_id)
            for period in SettlementPeriod.select().where(SettlementPeriod.settlement == settlement.id)
            .order_by(SettlementPeriod.pooler)]
    for collection in (DebtCollection.select(DebtCollection, PoolerDebt).join(PoolerDebt)
                       .where(DebtCollection.settlement == settlement.id).order_by(DebtCollection.debt)):
        creditor = Farmer.get_by_id(collection.debt.creditor_id)
        legs.append(Leg("creditor", creditor.payout_address, collection.amount,
                        pooler_id=collection.debt.pooler_id, debt_id=collection.debt_id))
    return [leg for leg in legs if leg.amount > 0]


def waiting_for(farmer: Farmer) -> str | None:
    """Why `farmer` cannot be settled yet, or None when it can."""
    live = TxIntent.select().where(TxIntent.farmer == farmer.id, TxIntent.status.in_(LIVE),
                                   TxIntent.action.not_in(PAYOUT_ACTIONS))
    if live.exists():
        return "a transaction of this farmer is still in flight"
    open_pails = [pail for pail in pails(farmer.id) if not pail.closed]
    if open_pails:
        return f"block {open_pails[0].block_index}'s pail is not harvested yet"
    return settlement_blocker(farmer.id)


@dataclass
class Settler:
    """Settles leaving farmers through the outbox; never while a discrepancy touches their money
    or before the chain record has been reconciled past their last transaction."""

    client: ChainClient
    outbox: Outbox
    sign: Signer
    conditions: ConditionLog = field(default_factory=lambda: ConditionLog(log))  # a stuck farmer logs once

    def run_pass(self) -> list[int]:
        """Advance every leaving farmer's settlement and every wallet left open; returns the farmer
        ids that departed so far."""
        done = []
        adopt_chain_harvests()  # pails harvested by anyone count, with the chain's reward
        for farmer in Farmer.select().where(Farmer.status == "leaving").order_by(Farmer.id):
            try:
                if self.settle(farmer):
                    done.append(farmer.id)
            except Exception as exc:
                self.conditions.log(logging.ERROR, ("settle", farmer.id), "settlement of farmer %s could not "
                                    "advance: %s", farmer.id, exc, exc_info=True)
        for settlement in Settlement.select().where(Settlement.status == "closing"):
            try:
                self._close(settlement)
            except Exception as exc:
                self.conditions.log(logging.ERROR, ("close", settlement.id), "closing settlement %s could not "
                                    "advance: %s", settlement.id, exc, exc_info=True)
        return done

    def settle(self, farmer: Farmer) -> bool:
        """One step of `farmer`'s settlement; True once it has departed."""
        settlement = Settlement.get_or_none(Settlement.farmer == farmer.id)
        if settlement is None:
            waiting = waiting_for(farmer)
            if waiting:
                log.debug("farmer %s not ready to settle: %s", farmer.id, waiting)
                return False
            settlement = self._create(farmer)
            if settlement is None:
                return False
        if settlement.status in ("pending", "paying"):
            self._pay(farmer, settlement)
        return Farmer.get_by_id(farmer.id).status == "departed"

    def _create(self, farmer: Farmer) -> Settlement | None:
        figures = compute(farmer)
        balance = self.client.kale_balance(farmer.custodial_address)
        if (balance or 0) < figures.to_others:
            self.conditions.log(logging.ERROR, ("settle", farmer.id), "farmer %s: wallet holds %s KALE, less "
                                "than the %s its poolers are owed", farmer.id, balance, figures.to_others)
            return None
        self.conditions.clear(("settle", farmer.id))
        with database.atomic():
            settlement = Settlement.create(
                farmer=farmer.id, pooler=farmer.pooler_id, rewards_earned=figures.rewards,
                pooler_share_bps=farmer.pooler.share_bps, compensation_amount=figures.compensation,
                pooler_share=sum(p.share for p in figures.periods),
                pooler_debt=sum(p.debt for p in figures.periods), wallet_balance=balance or 0,
                debt_collected=sum(p.debt_collected for p in figures.periods),
                pooler_amount=sum(p.amount for p in figures.periods),
                farmer_amount=(balance or 0) - figures.to_others, status="pending")
            for period in figures.periods:
                SettlementPeriod.create(settlement=settlement.id, pooler=period.pooler_id, pails=len(period.pails),
                                        rewards=period.rewards, share=period.share,
                                        compensation=period.compensation, offset_amount=period.offset,
                                        debt=period.debt, debt_collected=period.debt_collected,
                                        amount=period.amount)
                if period.debt:
                    PoolerDebt.create(pooler=period.pooler_id, creditor=farmer.id, settlement=settlement.id,
                                      amount=period.debt)
                for collection in period.collections:
                    DebtCollection.create(debt=collection.debt_id, settlement=settlement.id,
                                          amount=collection.amount)
            (Compensation.update(settlement=settlement.id)
             .where(Compensation.farmer == farmer.id, Compensation.settlement.is_null()).execute())
        log.info("settlement %s for farmer %s: rewards %s over %s pooler period(s), to poolers %s, "
                 "debt collected %s, new debt %s", settlement.id, farmer.id, figures.rewards,
                 len(figures.periods), settlement.pooler_amount, settlement.debt_collected, settlement.pooler_debt)
        return settlement

    def _pay(self, farmer: Farmer, settlement: Settlement) -> None:
        if self.client.account(farmer.custodial_address) is None:
            _finish(settlement, farmer, "done")  # never funded: nothing to pay
            return
        owed = owed_legs(settlement)
        source = farmer.custodial_address
        if not TxIntent.select().where(TxIntent.idempotency_key == payout_key(settlement.id)).exists():
            effective_payout_address(farmer, self.client)  # a change that came due applies before the first build
            farmer = Farmer.get_by_id(farmer.id)

        def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
            return build_classic(self.client, source, sequence, self._plan(farmer, owed, fee).operations,
                                 fee, max_time)

        (Settlement.update(status="paying", last_error=None)
         .where(Settlement.id == settlement.id, Settlement.status == "pending").execute())
        action = Action(key=payout_key(settlement.id), action="payout", source=source, farmer_id=farmer.id,
                        pooler_id=farmer.pooler_id, settlement_id=settlement.id,
                        amount=sum(leg.amount for leg in owed))
        intent = self.outbox.send(action, build, self.sign, farmer)
        if intent.status in ("failed", "dead"):
            Settlement.update(last_error=intent.error_detail).where(Settlement.id == settlement.id).execute()

    def _plan(self, farmer: Farmer, owed: list[Leg], fee: int):
        """Plan the payout from the chain state now (called each time an envelope is built)."""
        network = self.client.network
        wallet = self.client.account(farmer.custodial_address)
        kale = self.client.kale_balance(farmer.custodial_address)
        destination = farmer.payout_address
        legs = kale_legs(owed, destination, kale)
        receivable = {address: balance is not None
                      for address, balance in self.client.kale_balances([leg.destination for leg in legs]).items()}
        return plan(legs, Asset(network.kale_asset_code, network.kale_asset_issuer), wallet, kale is not None,
                    receivable, destination, self.client.account(destination) is not None,
                    fee * (len(legs) + 4), self._sponsor_leg(farmer))

    def _sponsor_leg(self, farmer: Farmer) -> Leg | None:
        """The fees a sponsor paid for the wallet (by the chain record), owed back by the farmer."""
        owed = sponsored_fees_total(farmer.id)
        sponsor = sponsor_of(farmer.id)
        return Leg("sponsor", sponsor, owed) if owed and sponsor else None

    def _close(self, settlement: Settlement) -> None:
        """Merge a wallet kept open by claimable balances once they are claimed (it sponsors none)."""
        farmer = Farmer.get_by_id(settlement.farmer_id)
        wallet = self.client.account(farmer.custodial_address)
        if wallet is None:
            _finish(settlement, farmer, "done")
            return
        if wallet.sponsoring:
            return
        source = farmer.custodial_address

        def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
            return build_classic(self.client, source, sequence, [AccountMerge(farmer.payout_address)], fee, max_time)

        action = Action(key=close_key(settlement.id), action="close", source=source, farmer_id=farmer.id,
                        settlement_id=settlement.id)
        self.outbox.send(action, build, self.sign, farmer)


def _finish(settlement: Settlement, farmer: Farmer, status: str) -> None:
    Settlement.update(status=status, last_error=None,
                      completed_at=fn.now() if status == "done" else None).where(Settlement.id == settlement.id).execute()
    (Farmer.update(status="departed", departed_at=fn.now())
     .where(Farmer.id == farmer.id, Farmer.status != "departed").execute())


@handles("payout")
def record_payout(intent: TxIntent, found: GetTransactionResponse) -> None:
    """Outbox handler: a landed payout records what each recipient got, in what form; the farmer
    has departed. A failed one only says why (the next pass rebuilds it)."""
    settlement = Settlement.get_by_id(intent.settlement_id)
    if found.status.value != "SUCCESS":
        Settlement.update(last_error=intent.error_detail).where(Settlement.id == settlement.id).execute()
        return
    farmer = Farmer.get_by_id(settlement.farmer_id)
    operations = _operations(intent.envelope_xdr)
    kale_ops = [op for op in operations if _kale_amount(op) is not None]
    owed = owed_legs(settlement)
    recipients = owed + [Leg("farmer", farmer.payout_address, 0)] * max(0, len(kale_ops) - len(owed))
    for leg, op in zip(recipients, kale_ops):
        Payout.create(settlement=settlement.id, farmer=farmer.id, pooler=leg.pooler_id, recipient=leg.recipient,
                      destination=_destination(op), asset="KALE", amount=_kale_amount(op),
                      form="payment" if isinstance(op, Payment) else "claimable_balance",
                      attempt=intent.attempts, debt_id=leg.debt_id, status="confirmed", tx_hash=intent.tx_hash,
                      ledger=found.ledger)
    for op in operations:
        if isinstance(op, Payment) and op.asset.is_native() and op.destination.account_id != farmer.payout_address:
            Payout.create(settlement=settlement.id, farmer=farmer.id, recipient="sponsor",
                          destination=op.destination.account_id, asset="XLM", amount=parse_amount(op.amount),
                          attempt=intent.attempts, status="confirmed", tx_hash=intent.tx_hash, ledger=found.ledger)
    xlm = _xlm_paid(operations, found.result_xdr, farmer.payout_address)
    merged = any(isinstance(op, AccountMerge) for op in operations)
    if xlm > 0:
        Payout.create(settlement=settlement.id, farmer=farmer.id, recipient="farmer",
                      destination=farmer.payout_address, asset="XLM", amount=xlm,
                      form="merge" if merged else "payment", attempt=intent.attempts, status="confirmed",
                      tx_hash=intent.tx_hash, ledger=found.ledger)
    _finish(settlement, farmer, "done" if merged else "closing")


@handles("close")
def record_close(intent: TxIntent, found: GetTransactionResponse) -> None:
    """Outbox handler: the close merged the wallet's last XLM into the farmer's payout account."""
    if found.status.value != "SUCCESS":
        return
    settlement = Settlement.get_by_id(intent.settlement_id)
    farmer = Farmer.get_by_id(settlement.farmer_id)
    xlm = _merged_xlm(found.result_xdr)
    if xlm > 0:
        Payout.create(settlement=settlement.id, farmer=farmer.id, recipient="farmer",
                      destination=farmer.payout_address, asset="XLM", amount=xlm, form="merge",
                      attempt=intent.attempts, status="confirmed", tx_hash=intent.tx_hash, ledger=found.ledger)
    _finish(settlement, farmer, "done")


def _operations(envelope_xdr: str) -> list:
    """The operations of a signed classic envelope (no passphrase needed to read them)."""
    envelope = xdr.TransactionEnvelope.from_xdr(envelope_xdr)
    inner = envelope.fee_bump.tx.inner_tx.v1 if envelope.fee_bump is not None else envelope.v1
    return Transaction.from_xdr_object(inner.tx).operations


def _kale_amount(op) -> int | None:
    if not isinstance(op, (Payment, CreateClaimableBalance)) or op.asset.is_native():
        return None
    return parse_amount(op.amount)


def _destination(op) -> str:
    return op.destination.account_id if isinstance(op, Payment) else op.claimants[0].destination


def _xlm_paid(operations: list, result_xdr: str, farmer_destination: str) -> int:
    """XLM the farmer got: native payments and a new account's balance to it, and the merge."""
    paid = 0
    for op in operations:
        if isinstance(op, Payment) and op.asset.is_native() and op.destination.account_id == farmer_destination:
            paid += parse_amount(op.amount)
        elif isinstance(op, CreateAccount):
            paid += parse_amount(op.starting_balance)
    return paid + _merged_xlm(result_xdr)


def _merged_xlm(result_xdr: str) -> int:
    result = xdr.TransactionResult.from_xdr(result_xdr)
    for operation in result.result.results or []:
        merge = operation.tr.account_merge_result if operation.tr is not None else None
        if merge is not None and merge.source_account_balance is not None:
            return merge.source_account_balance.int64
    return 0
