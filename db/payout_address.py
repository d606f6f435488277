"""Where a farmer's money goes: its payout address, the changes to it, and the addresses it may not be.

A change proven by a signature of the old address applies at once. A change the old address
could not sign (it never existed on chain) is pending until its due time, and is applied
lazily by whoever reads the address next (`effective_payout_address`: the settlement before
it builds a payout, the API before it shows the farmer), exactly once, under the farmer's row
lock, and only if the old address still does not exist and no payout has been built.
"""
from __future__ import annotations

from typing import Protocol

from peewee import SQL, fn

from db.connection import database
from db.models import Farmer, PayoutAddressChange, Payout, Pooler, TxIntent


class AccountLookup(Protocol):
    """What is needed of the chain client: an account, or None when it does not exist."""

    def account(self, address: str) -> object | None: ...


def payout_built(farmer_id: int) -> bool:
    """Whether the farmer's payout has been built (its address can no longer change)."""
    return (TxIntent.select().where(TxIntent.farmer == farmer_id, TxIntent.action == "payout").exists()
            or Payout.select().where(Payout.farmer == farmer_id).exists())


def pending_change(farmer_id: int) -> PayoutAddressChange | None:
    """The farmer's scheduled (delayed) change, if any."""
    return (PayoutAddressChange.select()
            .where(PayoutAddressChange.farmer == farmer_id, PayoutAddressChange.status == "pending").first())


def refused_payout_address(address: str) -> str | None:
    """Why `address` may not be a farmer's payout address (a custodial or pooler address), or None."""
    if Farmer.select().where(Farmer.custodial_address == address).exists():
        return "it is a custodial address of this pool; use an account you hold the key of"
    if Pooler.select().where(Pooler.payout_address == address).exists():
        return "it is a pooler's payout address; use an account of your own"
    return None


def _resolve(change: PayoutAddressChange, status: str, reason: str | None) -> None:
    (PayoutAddressChange.update(status=status, reason=reason, resolved_at=fn.now())
     .where(PayoutAddressChange.id == change.id).execute())


def change_now(farmer: Farmer, new_address: str) -> None:
    """Apply a signed change at once (the caller holds the farmer's row lock); any pending change is
    superseded."""
    pending = pending_change(farmer.id)
    if pending is not None:
        _resolve(pending, "cancelled", "superseded by a signed change")
    PayoutAddressChange.create(farmer=farmer.id, old_address=farmer.payout_address, new_address=new_address,
                               method="signed", status="applied", effective_at=fn.now(),
                               resolved_at=fn.now())
    Farmer.update(payout_address=new_address).where(Farmer.id == farmer.id).execute()


def schedule_change(farmer: Farmer, new_address: str, delay_seconds: int) -> None:
    """Schedule an unsigned change `delay_seconds` from now (the caller holds the farmer's row lock and
    has checked that the old address does not exist); it replaces any pending one."""
    pending = pending_change(farmer.id)
    if pending is not None:
        _resolve(pending, "cancelled", "replaced by a newer request")
    PayoutAddressChange.create(farmer=farmer.id, old_address=farmer.payout_address, new_address=new_address,
                               method="delayed", status="pending",
                               effective_at=SQL("now() + make_interval(secs => %s)", (delay_seconds,)))


def cancel_pending(farmer_id: int, reason: str) -> bool:
    """Cancel the farmer's pending change; False when there is none."""
    pending = pending_change(farmer_id)
    if pending is None:
        return False
    _resolve(pending, "cancelled", reason)
    return True


def effective_payout_address(farmer: Farmer, chain: AccountLookup) -> str:
    """The address the farmer's money goes to now, after applying (or dropping) a pending change that is
    due. May call `chain.account` (and let its errors through) only when a change is due."""
    due = PayoutAddressChange.select().where(PayoutAddressChange.farmer == farmer.id,
                                             PayoutAddressChange.status == "pending",
                                             PayoutAddressChange.effective_at <= fn.now())
    if not due.exists():
        return Farmer.get_by_id(farmer.id).payout_address
    with database.atomic():
        current = Farmer.select().where(Farmer.id == farmer.id).for_update().get()
        change = due.first()
        if change is None:
            return current.payout_address
        if payout_built(current.id):
            _resolve(change, "cancelled", "the payout was built before the change was due")
        elif chain.account(current.payout_address) is not None:
            _resolve(change, "cancelled", f"the current payout address {current.payout_address} now exists "
                                          "on chain: change it with a signature from it")
        else:
            _resolve(change, "applied", None)
            Farmer.update(payout_address=change.new_address).where(Farmer.id == current.id).execute()
            return change.new_address
        return current.payout_address
