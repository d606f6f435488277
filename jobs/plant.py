"""Plant on a pooler's request: every active farmer of that pooler, in parallel, once per block.

The stake is floor(KALE balance x stake_bps / 10000), signed by the farmer's custodial
key, sent through the outbox under the key `plant:<farmer>:<block>`, so the same
request repeated in the same block plants nothing twice and answers the same.

The answer is honest: `planted` lists only plants confirmed on chain, `pending` the ones
still in flight (a later request for the same block says what became of them), `failed`
the others with the reason. A pail listed as planted while its block is still open is
recorded as announced: only announced pails cost the pooler compensation if left unworked.
A wallet without the XLM to pay for its harvest is not planted (no stake it cannot get back).
A request in the last ledgers of a block waits for the next one, whose first plant opens it.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from stellar_sdk import TransactionEnvelope, scval
from stellar_sdk.soroban_rpc import GetTransactionResponse

from chain.custody import Signer
from chain import calls, meta
from chain.kale import BLOCK_INTERVAL, MEDIAN_LEDGER_SECONDS, KaleError
from chain.rpc import ChainClient, Ledger, RpcUnavailable
from chain.storage import FarmState
from chain.transactions import SimulationFailed, build_invocation, invocation
from db.connection import database
from db.models import Farmer, PausedBlock, PlantAnnouncement, Planting, Pooler, TxIntent
from jobs.outbox import LIVE, Action, Outbox, SourceBusy, handles
from jobs.split import stake_for

log = logging.getLogger(__name__)

FARM_PAUSED = KaleError.FarmPaused.value
# A plant simulated this close to the end of a block may apply in the next one, where the pail its
# footprint names is the wrong one and the call traps on chain: the planter waits for the boundary.
BOUNDARY_LEDGERS = 4
BOUNDARY_WAIT_SECONDS = 45.0  # never wait longer than this for the chain to pass a boundary


def target_block(farm: FarmState, latest: Ledger, current_block_exists: bool) -> int:
    """The index a plant sent now would land in, per the contract's block selection."""
    if farm.farm_block is not None and latest.close_time >= farm.farm_block.timestamp + BLOCK_INTERVAL:
        return farm.index + 1
    if current_block_exists or farm.index == 0:
        return farm.index
    return farm.index + 1


def near_block_end(farm: FarmState, latest: Ledger) -> bool:
    """Whether the open block ends within BOUNDARY_LEDGERS of ledger time (and has not ended yet)."""
    if farm.farm_block is None:
        return False
    left = farm.farm_block.timestamp + BLOCK_INTERVAL - latest.close_time
    return 0 < left <= BOUNDARY_LEDGERS * MEDIAN_LEDGER_SECONDS


def plant_key(farmer_id: int, index: int) -> str:
    """The outbox idempotency key of a farmer's plant in block `index`."""
    return f"plant:{farmer_id}:{index}"


@dataclass
class Planter:
    """Plants a pooler's farmers through the outbox."""

    client: ChainClient
    outbox: Outbox
    sign: Signer
    fee_reserve: int  # XLM (stroops) a wallet must hold above its reserve to be planted
    workers: int = 8
    wait_seconds: float = 60.0
    boundary_poll_seconds: float = 0.25

    def plant_for(self, pooler: Pooler) -> dict[str, Any]:
        """Plant every active farmer of `pooler` in the open block and answer who is planted.

        All plants are sent first, in parallel; then all are confirmed together, ledger by
        ledger, so a thousand farmers cost a few ledgers, not a thousand round trips.
        """
        farm, latest = self.wait_past_block_end()
        index = target_block(farm, latest, self.client.block(farm.index) is not None)
        farmers = list(Farmer.select().where(Farmer.pooler == pooler.id, Farmer.status == "active")
                       .order_by(Farmer.id))
        balances = self.client.kale_balances([f.custodial_address for f in farmers])
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            sent = list(pool.map(lambda f: self._send_one(f, index, balances[f.custodial_address]),
                                 farmers))
            reasons = {f.id: outcome for f, outcome in zip(farmers, sent) if isinstance(outcome, str)}
            confirmed = self.outbox.confirm([o for o in sent if isinstance(o, TxIntent)], self.wait_seconds, pool)
        reasons.update({intent.farmer_id: _reason(intent) for intent in confirmed
                        if intent.status not in (*LIVE, "success")})
        for farmer in farmers:
            if (farmer.plant_problem or None) != reasons.get(farmer.id):
                Farmer.update(plant_problem=reasons.get(farmer.id)).where(Farmer.id == farmer.id).execute()
        return self._answer(pooler, index, farmers + _planted_since(pooler, index, farmers), reasons)

    def wait_past_block_end(self) -> tuple[FarmState, Ledger]:
        """The farm and the latest ledger, once the chain is not about to end the open block."""
        deadline = time.monotonic() + BOUNDARY_WAIT_SECONDS
        while True:
            farm, latest = self.client.farm_state(), self.client.latest_ledger()
            if not near_block_end(farm, latest) or time.monotonic() >= deadline:
                return farm, latest
            time.sleep(self.boundary_poll_seconds)

    def _send_one(self, farmer: Farmer, index: int, balance: int | None) -> TxIntent | str | None:
        """Send one farmer's plant; its live intent, None if already planted, or why not."""
        try:
            with database.connection_context():
                if Planting.get_or_none(Planting.farmer == farmer.id, Planting.block_index == index):
                    return None
                if balance is None:
                    return "no KALE trustline on the custodial wallet"
                wallet = self.client.account(farmer.custodial_address)
                spare = 0 if wallet is None else wallet.balance - wallet.min_balance()
                sponsored = self.outbox.sponsor.room(farmer.id) if self.outbox.sponsor else 0
                if max(spare, 0) + sponsored < self.fee_reserve:
                    return (f"not enough XLM for the fees: the wallet has {max(spare, 0)} stroops above its "
                            f"reserve and needs {self.fee_reserve} to plant and harvest")
                intent = self._send(farmer, index, stake_for(balance, farmer.stake_bps))
                return intent if intent.status in LIVE else _reason(intent)
        except SimulationFailed as exc:
            if exc.failure.contract_code == FARM_PAUSED:
                PausedBlock.note(index)
                return "the farm is paused (contract error #4): nothing is planted until it resumes"
            return exc.failure.name
        except (SourceBusy, RpcUnavailable) as exc:
            return str(exc)

    def _send(self, farmer: Farmer, index: int, stake: int) -> TxIntent:
        contract = self.client.network.farm_contract
        source = farmer.custodial_address

        def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
            operation = calls.plant(contract, source, stake)
            return build_invocation(self.client, source, sequence, operation, fee, max_time)

        action = Action(key=plant_key(farmer.id, index), action="plant", source=source,
                        farmer_id=farmer.id, pooler_id=farmer.pooler_id, block_index=index,
                        amount=stake)
        return self.outbox.send(action, build, self.sign, farmer)

    def _answer(self, pooler: Pooler, index: int, farmers: list[Farmer],
                reasons: dict[int, str | None]) -> dict[str, Any]:
        ids = [f.id for f in farmers]
        plantings = {p.farmer_id: p for p in Planting.select().where(
            Planting.block_index == index, Planting.farmer.in_(ids), Planting.pooler == pooler.id)}
        in_flight = {i.farmer_id for i in TxIntent.select(TxIntent.farmer).where(
            TxIntent.action == "plant", TxIntent.block_index == index, TxIntent.farmer.in_(ids),
            TxIntent.status.in_(LIVE))}
        block = self.client.block(index)
        planted, pending, failed = [], [], []
        for farmer in farmers:
            planting = plantings.get(farmer.id)
            entry = {"farmer_id": farmer.id, "address": farmer.custodial_address, "block_index": index}
            if planting is not None:
                planted.append({**entry, "stake": planting.amount, "ledger": planting.ledger,
                                "tx_hash": planting.tx_hash})
            elif farmer.id in in_flight:
                pending.append({**entry, "reason": "submitted, not yet confirmed: ask again for this block"})
            else:
                failed.append({**entry, "reason": reasons.get(farmer.id) or "not planted"})
        return {
            "block": None if block is None else {
                "index": index, "entropy": block.value.entropy.hex(),
                "timestamp": block.value.timestamp,
                "closes_at": block.value.timestamp + BLOCK_INTERVAL},
            "planted": planted,
            "pending": pending,
            "failed": failed,
        }


    def announce(self, pooler: Pooler, answer: dict[str, Any]) -> None:
        """The pooler has been handed `answer`: its planted pails count as announced if their block is
        still open now (only those can cost it compensation if left unworked)."""
        block = answer.get("block")
        if not block or not answer.get("planted"):
            return
        latest = self.client.latest_ledger()
        if latest.close_time >= block["closes_at"]:
            return
        (PlantAnnouncement.insert_many([{"farmer": p["farmer_id"], "block_index": p["block_index"],
                                         "pooler": pooler.id, "ledger": latest.sequence} for p in answer["planted"]])
         .on_conflict_ignore().execute())


def _planted_since(pooler: Pooler, index: int, farmers: list[Farmer]) -> list[Farmer]:
    """Farmers no longer active (they asked to leave meanwhile) with a plant of this pooler in the
    block: the pooler must hear of every pail it will be charged for."""
    known = [f.id for f in farmers]
    planted = Planting.select(Planting.farmer).where(Planting.pooler == pooler.id, Planting.block_index == index)
    sent = TxIntent.select(TxIntent.farmer).where(TxIntent.action == "plant", TxIntent.pooler == pooler.id,
                                                  TxIntent.block_index == index)
    return list(Farmer.select().where((Farmer.id.in_(planted) | Farmer.id.in_(sent)), Farmer.id.not_in(known))
                .order_by(Farmer.id))


def _reason(intent: TxIntent) -> str:
    if intent.status in LIVE:
        return "submitted, not yet confirmed"
    return intent.error_detail or intent.status


@handles("plant")
def record_planting(intent: TxIntent, found: GetTransactionResponse) -> None:
    """Outbox handler: a confirmed plant becomes a Planting and a stake debit, once."""
    if found.status.value != "SUCCESS":
        return
    farmer = Farmer.get_by_id(intent.farmer_id)
    contract, _, args = invocation(intent.envelope_xdr)
    index = meta.pail_index(found.result_meta_xdr, contract, farmer.custodial_address)
    amount = scval.from_int128(args[1])
    if index is None:
        log.error("plant %s succeeded but created no pail; recorded as block %s", intent.id,
                  intent.block_index)
        index = intent.block_index
    Planting.create(farmer=farmer.id, pooler=intent.pooler_id, block_index=index, amount=amount,
                    intent=intent.id, tx_hash=intent.tx_hash, ledger=found.ledger,
                    share_bps=Pooler.get_by_id(intent.pooler_id).share_bps)
