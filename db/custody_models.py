"""peewee model over the custody ledger (migration 0005): chain-derived, append-only,
double-entry rows of every KALE and XLM movement in or out of a custodial wallet."""
from __future__ import annotations

from peewee import BigAutoField, BigIntegerField, ForeignKeyField, TextField

from db.models import AmountField, BaseModel, Farmer, Pooler

ASSETS = ("KALE", "XLM")
CLASSES = ("deposit", "stake", "stake_returned", "reward", "fee", "compensation", "payout", "unexplained")


class CustodyEntry(BaseModel):
    """One leg of a chain movement: `amount` (signed, + into `account`) of `asset`.

    `account` is a custodial wallet address or a contra account (`farm:stake`, `farm:mint`,
    `network:fees`, `external:G...`, `claimable:<balance id>`); a movement's legs sum to 0.
    `position` orders entries within a ledger (the movement's event id, fees first).
    """

    id = BigAutoField()
    entry_key = TextField(unique=True)
    movement_id = TextField()
    position = TextField()
    account = TextField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id", null=True)
    asset = TextField()
    amount = AmountField()
    entry_class = TextField(column_name="class")
    tx_hash = TextField()
    ledger = BigIntegerField()
    block_index = BigIntegerField(null=True)
    pooler = ForeignKeyField(Pooler, column_name="pooler_id", null=True)
    counterparty = TextField(null=True)

    class Meta:
        table_name = "custody_entries"
