"""The append-only history of every envelope the outbox signed (table tx_attempts)."""
from __future__ import annotations

from peewee import BigAutoField, BigIntegerField, CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import DateTimeTZField

from db.models import BaseModel, TxIntent


class TxAttempt(BaseModel):
    """One signed envelope of an intent; a new attempt exists only once the last is provably dead."""

    id = BigAutoField()
    intent = ForeignKeyField(TxIntent, column_name="intent_id", backref="history")
    attempt = IntegerField()
    source = CharField(max_length=56)
    sequence = BigIntegerField()
    max_time = BigIntegerField()
    fee = BigIntegerField()
    tx_hash = TextField(unique=True)
    envelope_xdr = TextField()
    created_at = DateTimeTZField()

    class Meta:
        table_name = "tx_attempts"
