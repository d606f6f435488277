"""Exit settlement: once a leaving farmer's last pails are harvested or provably lost, split
its pool rewards and pay everything out in one transaction, exactly once.

The payout transaction, from the custodial wallet: KALE to the pooler (its share less
the compensation it owes), the rest of the KALE to the farmer, the KALE trustline
removed, and the account merged into the farmer's payout address (returning the XLM).
One transaction makes the payout all-or-nothing; the outbox makes it happen once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from peewee import fn
from stellar_sdk import AccountMerge, Asset, ChangeTrust, Payment, TransactionEnvelope, xdr
from stellar_sdk.soroban_rpc import GetTransactionResponse

from chain.rpc import ChainClient
from chain.transactions import build_classic
from db.chain_models import settlement_blocker
from db.connection import database
from db.models import (BalanceEntry, Compensation, Farmer, Harvest, Payout, Planting, Pooler,
                       Settlement, TxIntent, Work)
from jobs.harvest import Harvester
from jobs.outbox import LIVE, Action, Outbox
from jobs.split import split_rewards

log = logging.getLogger(__name__)

Signer = Callable[[Farmer, TransactionEnvelope], None]


def stroops_to_amount(stroops: int) -> str:
    """An exact decimal string of a stroop amount, as classic operations take it."""
    return f"{stroops // 10_000_000}.{stroops % 10_000_000:07d}"


def payout_key(settlement_id: int) -> str:
    """The outbox idempotency key of a settlement's payout transaction."""
    return f"payout:settlement:{settlement_id}"


@dataclass
class Settler:
    """Settles leaving farmers through the outbox; never while a discrepancy concerns them or
    before the chain record has been reconciled past their last transaction."""

    client: ChainClient
    outbox: Outbox
    sign: Signer
    harvester: Harvester

    def run_pass(self) -> list[int]:
        """Advance every leaving farmer's settlement; returns the farmer ids settled so far."""
        done = []
        for farmer in Farmer.select().where(Farmer.status == "leaving").order_by(Farmer.id):
            try:
                if self.settle(farmer):
                    done.append(farmer.id)
            except Exception:
                log.exception("settlement of farmer %s could not advance", farmer.id)
        return done

    def settle(self, farmer: Farmer) -> bool:
        """One step of `farmer`'s settlement; True once it has departed."""
        settlement = Settlement.get_or_none(Settlement.farmer == farmer.id)
        if settlement is None:
            waiting = self.waiting_for(farmer)
            if waiting:
                log.debug("farmer %s not ready to settle: %s", farmer.id, waiting)
                return False
            settlement = self._create(farmer)
        if settlement.status != "done":
            self._pay(farmer, settlement)
        return Farmer.get_by_id(farmer.id).status == "departed"

    def waiting_for(self, farmer: Farmer) -> str | None:
        """Why `farmer` cannot be settled yet, or None when it can."""
        if TxIntent.select().where(TxIntent.farmer == farmer.id, TxIntent.status.in_(LIVE)).exists():
            return "a transaction of this farmer is still in flight"
        farm_index = self.client.farm_state().index
        open_plantings = [p for p in self.harvester.open_plantings() if p.farmer_id == farmer.id]
        if open_plantings:
            pails = self.client.pails([(farmer.custodial_address, p.block_index) for p in open_plantings])
            for planting in open_plantings:
                gone = (planting.block_index < farm_index
                        and (farmer.custodial_address, planting.block_index) not in pails)
                if not gone:
                    return f"block {planting.block_index} is not harvested yet"
        return settlement_blocker(farmer.id)

    def _create(self, farmer: Farmer) -> Settlement:
        pooler = Pooler.get_by_id(farmer.pooler_id)
        rewards = int(Harvest.select(fn.COALESCE(fn.SUM(Harvest.reward), 0))
                      .where(Harvest.farmer == farmer.id).scalar())
        owed = int(Compensation.select(fn.COALESCE(fn.SUM(Compensation.amount), 0))
                   .where(Compensation.farmer == farmer.id, Compensation.settlement.is_null()).scalar())
        split = split_rewards(rewards, pooler.share_bps, owed)
        balance = self.client.kale_balance(farmer.custodial_address) or 0
        pooler_amount = min(split.pooler_amount, balance)
        with database.atomic():
            settlement = Settlement.create(
                farmer=farmer.id, pooler=pooler.id, rewards_earned=rewards,
                pooler_share_bps=pooler.share_bps, compensation_amount=owed,
                pooler_share=split.pooler_share, pooler_debt=split.debt, wallet_balance=balance,
                pooler_amount=pooler_amount, farmer_amount=balance - pooler_amount, status="pending")
            (Compensation.update(settlement=settlement.id)
             .where(Compensation.farmer == farmer.id, Compensation.settlement.is_null()).execute())
            for recipient, destination, amount in (("pooler", pooler.payout_address, pooler_amount),
                                                   ("farmer", farmer.payout_address, balance - pooler_amount)):
                if amount > 0:
                    Payout.create(settlement=settlement.id, farmer=farmer.id, pooler=pooler.id,
                                  recipient=recipient, destination=destination, asset="KALE",
                                  amount=amount)
        log.info("settlement %s for farmer %s: rewards %s, pooler %s, farmer %s, debt %s",
                 settlement.id, farmer.id, rewards, pooler_amount, balance - pooler_amount, split.debt)
        return settlement

    def _pay(self, farmer: Farmer, settlement: Settlement) -> None:
        payouts = list(Payout.select().where(Payout.settlement == settlement.id, Payout.asset == "KALE"))
        problem = self._destinations_problem(payouts, farmer.payout_address)
        if problem:
            Settlement.update(last_error=problem).where(Settlement.id == settlement.id).execute()
            log.warning("settlement %s waits: %s", settlement.id, problem)
            return
        network = self.client.network
        kale = Asset(network.kale_asset_code, network.kale_asset_issuer)
        source = farmer.custodial_address
        operations = [Payment(p.destination, kale, stroops_to_amount(p.amount)) for p in payouts]
        operations += [ChangeTrust(kale, limit="0"), AccountMerge(farmer.payout_address)]

        def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
            return build_classic(self.client, source, sequence, operations, fee, max_time)

        (Settlement.update(status="paying", last_error=None)
         .where(Settlement.id == settlement.id, Settlement.status == "pending").execute())
        action = Action(key=payout_key(settlement.id), action="payout", source=source,
                        farmer_id=farmer.id, pooler_id=farmer.pooler_id, settlement_id=settlement.id,
                        amount=sum(p.amount for p in payouts))
        intent = self.outbox.send(action, build, lambda envelope: self.sign(farmer, envelope))
        if intent.status == "failed":
            Settlement.update(last_error=intent.error_detail).where(Settlement.id == settlement.id).execute()

    def _destinations_problem(self, payouts: list[Payout], merge_to: str) -> str | None:
        if self.client.account(merge_to) is None:
            return f"payout address {merge_to} does not exist on chain"
        balances = self.client.kale_balances([p.destination for p in payouts])
        for payout in payouts:
            if balances[payout.destination] is None:
                return f"{payout.recipient} payout address {payout.destination} has no KALE trustline"
        return None


def record_payout(intent: TxIntent, found: GetTransactionResponse) -> None:
    """Outbox handler: a confirmed payout confirms its Payouts, records the returned XLM,
    debits the wallet in the balance ledger and marks the farmer departed, once."""
    settlement = Settlement.get_by_id(intent.settlement_id)
    if found.status.value != "SUCCESS":
        Settlement.update(last_error=intent.error_detail).where(Settlement.id == settlement.id).execute()
        return
    payouts = list(Payout.select().where(Payout.settlement == settlement.id))
    (Payout.update(status="confirmed", tx_hash=intent.tx_hash, ledger=found.ledger)
     .where(Payout.settlement == settlement.id).execute())
    for payout in payouts:
        BalanceEntry.create(account_kind="farmer", account_id=settlement.farmer_id, asset="KALE",
                            delta=-payout.amount, reason=f"payout_{payout.recipient}",
                            ref_table="payouts", ref_id=payout.id)
        if payout.recipient == "pooler":
            BalanceEntry.create(account_kind="pooler", account_id=settlement.pooler_id, asset="KALE",
                                delta=payout.amount, reason="settlement_share", ref_table="payouts",
                                ref_id=payout.id)
    farmer = Farmer.get_by_id(settlement.farmer_id)
    returned = _merged_xlm(found.result_xdr)
    if returned > 0:
        Payout.create(settlement=settlement.id, farmer=farmer.id, pooler=settlement.pooler_id,
                      recipient="farmer", destination=farmer.payout_address, asset="XLM",
                      amount=returned, status="confirmed", tx_hash=intent.tx_hash, ledger=found.ledger)
    Settlement.update(status="done", completed_at=fn.now()).where(Settlement.id == settlement.id).execute()
    Farmer.update(status="departed", departed_at=fn.now()).where(Farmer.id == farmer.id).execute()


def _merged_xlm(result_xdr: str) -> int:
    result = xdr.TransactionResult.from_xdr(result_xdr)
    for operation in result.result.results or []:
        merge = operation.tr.account_merge_result if operation.tr is not None else None
        if merge is not None and merge.source_account_balance is not None:
            return merge.source_account_balance.int64
    return 0


def statement(farmer: Farmer) -> dict[str, Any] | None:
    """The settlement statement: every block, harvest, compensation, the split and the payouts."""
    settlement = Settlement.get_or_none(Settlement.farmer == farmer.id)
    if settlement is None:
        return None
    harvests = {h.block_index: h for h in Harvest.select().where(Harvest.farmer == farmer.id)}
    works = {w.block_index: w for w in Work.select().where(Work.farmer == farmer.id)}
    compensations = {c.block_index: c for c in Compensation.select().where(Compensation.farmer == farmer.id)}
    blocks = []
    for planting in Planting.select().where(Planting.farmer == farmer.id).order_by(Planting.block_index):
        index = planting.block_index
        harvest, work, compensation = harvests.get(index), works.get(index), compensations.get(index)
        blocks.append({
            "block_index": index, "stake": planting.amount, "plant_tx": planting.tx_hash,
            "zeros": work.zeros if work else None, "gap": work.gap if work else None,
            "reward": harvest.reward if harvest else None,
            "harvest_tx": harvest.tx_hash if harvest else None,
            "compensation": compensation.amount if compensation else None,
        })
    payouts = [{"recipient": p.recipient, "destination": p.destination, "asset": p.asset,
                "amount": p.amount, "status": p.status, "tx_hash": p.tx_hash, "ledger": p.ledger}
               for p in Payout.select().where(Payout.settlement == settlement.id).order_by(Payout.id)]
    return {
        "settlement_id": settlement.id, "status": settlement.status, "blocks": blocks,
        "rewards_earned": settlement.rewards_earned, "pooler_share_bps": settlement.pooler_share_bps,
        "pooler_share": settlement.pooler_share, "compensation_owed": settlement.compensation_amount,
        "pooler_debt": settlement.pooler_debt, "wallet_balance": settlement.wallet_balance,
        "pooler_amount": settlement.pooler_amount, "farmer_amount": settlement.farmer_amount,
        "payouts": payouts, "last_error": settlement.last_error,
    }
