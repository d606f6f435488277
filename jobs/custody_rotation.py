"""Master key rotation: re-wrap every farmer's data key under a new master key.

The re-wrap itself is `Custody.rewrap` (chain, no database); this is the locked
walk over the farmer rows that applies it.

Wallet creation holds CUSTODY_LOCK_KEY shared while it reads the current master
key and inserts the row; rotation holds it exclusively, so no wallet can be
sealed under a key that rotation is about to retire.
"""
from __future__ import annotations

from dataclasses import dataclass

from chain.custody import Custody
from db.connection import database
from db.models import Farmer

# An arbitrary constant no other kalepool lock uses ("kalecust" in ASCII).
CUSTODY_LOCK_KEY = 0x6B616C6563757374


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    new_key_id: str
    rewrapped: int
    retired: tuple[str, ...]


def hold_custody_lock_shared() -> None:
    """Inside a transaction: keep rotation out until it ends."""
    database.execute_sql("SELECT pg_advisory_xact_lock_shared(%s)", (CUSTODY_LOCK_KEY,))


def rotate_master_key(custody: Custody) -> Rotation:
    """Create a new master key, re-wrap every data key under it, make it current, retire the old ones."""
    keystore = custody.keystore
    new_id = keystore.create()
    new_key = keystore.get(new_id)
    with database.atomic():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (CUSTODY_LOCK_KEY,))
        farmers = list(Farmer.select().order_by(Farmer.id).for_update())
        old_ids = {farmer.master_key_id for farmer in farmers}
        if keystore.current_id() is not None:
            old_ids.add(keystore.current_id())
        for farmer in farmers:
            sealed = custody.rewrap(farmer, new_id, new_key)
            Farmer.update(**sealed.fields()).where(Farmer.id == farmer.id).execute()
        keystore.set_current(new_id)
    for old_id in sorted(old_ids - {new_id}):
        keystore.delete(old_id)
    return Rotation(new_id, len(farmers), tuple(sorted(old_ids - {new_id})))
