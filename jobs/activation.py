"""Activating a farmer: its custodial account must exist with enough XLM; the pool adds the
KALE trustline through the outbox (signed by custody, recorded before it is sent) and marks
the farmer active once the chain shows the trustline."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from peewee import fn
from stellar_sdk import Asset, ChangeTrust, TransactionEnvelope

from chain.transactions import build_classic
from db.models import Farmer, TxIntent
from jobs.outbox import LIVE, Action
from jobs.pool import Pool


class ActivationRefused(Exception):
    """The farmer cannot be activated now: `status` (HTTP-like), `code` and a message saying why."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def trustline_key(farmer_id: int) -> str:
    """The outbox idempotency key of a farmer's KALE trustline."""
    return f"trustline:{farmer_id}"


def activate(pool: Pool, farmer: Farmer, wait_seconds: float = 30.0) -> Farmer:
    """Activate `farmer` (see the module docstring); ActivationRefused says why not."""
    if farmer.status == "active":
        return farmer
    if farmer.status != "awaiting_funding":
        raise ActivationRefused(409, "not_activatable", f"a farmer that is {farmer.status} cannot be activated")
    minimum = pool.settings.min_account_xlm_stroops
    account = pool.client.account(farmer.custodial_address)
    if account is None:
        raise ActivationRefused(409, "not_funded", f"the custodial account {farmer.custodial_address} does not "
                                                   f"exist yet: send it at least {minimum} stroops of XLM")
    if account.balance < minimum:
        raise ActivationRefused(409, "insufficient_xlm", f"the custodial account holds {account.balance} stroops "
                                                         f"of XLM; it needs at least {minimum}")
    if pool.client.kale_balance(farmer.custodial_address) is None:
        _add_trustline(pool, farmer, wait_seconds)
    (Farmer.update(status="active", activated_at=fn.now())
     .where(Farmer.id == farmer.id, Farmer.status == "awaiting_funding").execute())
    return Farmer.get_by_id(farmer.id)


def _add_trustline(pool: Pool, farmer: Farmer, wait_seconds: float) -> None:
    intent = _send_trustline(pool, farmer)
    deadline = time.monotonic() + wait_seconds
    while intent.status in LIVE and time.monotonic() < deadline:
        time.sleep(0.2)
        intent = pool.outbox.step(intent)
    if intent.status in LIVE:
        raise ActivationRefused(409, "activation_in_progress",
                                "the KALE trustline transaction is not confirmed yet; try again shortly")
    if intent.status != "success" and pool.client.kale_balance(farmer.custodial_address) is None:
        raise ActivationRefused(502, "chain_rejected",
                                f"the KALE trustline transaction failed: {intent.error_detail or intent.status}")


def activate_many(pool: Pool, farmers: list[Farmer], executor: ThreadPoolExecutor,
                  wait_seconds: float = 120.0) -> int:
    """Activate funded farmers in bulk: trustlines sent in parallel, then confirmed together.

    Returns how many are active afterwards.
    """
    intents = list(executor.map(lambda farmer: _send_trustline(pool, farmer), farmers))
    pool.outbox.confirm(intents, wait_seconds, executor)
    active = 0
    for farmer in farmers:
        try:
            active += activate(pool, Farmer.get_by_id(farmer.id), wait_seconds=0).status == "active"
        except ActivationRefused:
            pass
    return active


def _send_trustline(pool: Pool, farmer: Farmer) -> TxIntent:
    network = pool.settings.network
    source = farmer.custodial_address
    change_trust = ChangeTrust(Asset(network.kale_asset_code, network.kale_asset_issuer))

    def build(sequence: int, max_time: int, fee: int) -> TransactionEnvelope:
        return build_classic(pool.client, source, sequence, [change_trust], fee, max_time)

    # A trustline that landed and failed (no XLM for the reserve then) is rebuilt by the outbox.
    action = Action(key=trustline_key(farmer.id), action="trustline", source=farmer.custodial_address,
                    farmer_id=farmer.id, pooler_id=farmer.pooler_id)
    return pool.outbox.send(action, build, pool.custody.sign_transaction, farmer)
