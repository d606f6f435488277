"""peewee models over the schema the migrations create (the migrations are the source of truth).

Every model is bound to `db.connection.database`, a proxy that a process binds
with `init_database(url)` after it forks. Amounts are `AmountField`s: exact
Python ints in NUMERIC(39,0) columns, never floats.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from peewee import (BigAutoField, BigIntegerField, BlobField, BooleanField, CharField,
                    DecimalField, ForeignKeyField, IntegerField, Model, TextField)
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from db.connection import database

FARMER_STATUSES = ("awaiting_funding", "active", "leaving", "departed")
INTENT_STATUSES = ("new", "submitted", "success", "failed", "dead")


class AmountField(DecimalField):
    """An integer amount in stroops, up to i128, stored exactly as NUMERIC(39,0)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, max_digits=39, decimal_places=0, auto_round=False, **kwargs)

    def db_value(self, value: Any) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self.name}: amounts are int stroops, got {type(value).__name__}")
        return Decimal(value)

    def python_value(self, value: Any) -> int | None:
        return None if value is None else int(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Pooler(BaseModel):
    id = BigAutoField()
    name = TextField(unique=True)
    payout_address = CharField(max_length=56)
    api_key_hash = TextField(unique=True)
    capacity = IntegerField()
    share_bps = IntegerField()
    active = BooleanField(default=True)
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()

    class Meta:
        table_name = "poolers"


class Farmer(BaseModel):
    id = BigAutoField()
    custodial_address = CharField(max_length=56, unique=True)
    secret_ciphertext = BlobField()
    secret_nonce = BlobField()
    data_key_wrapped = BlobField()
    data_key_nonce = BlobField()
    master_key_id = TextField()
    key_version = IntegerField(default=1)
    payout_address = CharField(max_length=56)
    pooler = ForeignKeyField(Pooler, backref="farmers", column_name="pooler_id")
    stake_bps = IntegerField()
    harvest_interval_blocks = IntegerField()
    status = TextField(default="awaiting_funding")
    api_token_hash = TextField(unique=True)
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()
    activated_at = DateTimeTZField(null=True)
    exit_requested_at = DateTimeTZField(null=True)
    departed_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "farmers"

    @staticmethod
    def next_id() -> int:
        """Reserve a farmer id before the row exists (custody binds the key to it)."""
        return database.execute_sql("SELECT nextval('farmers_id_seq')").fetchone()[0]


class Auditor(BaseModel):
    id = BigAutoField()
    name = TextField(unique=True)
    token_hash = TextField(unique=True)
    created_at = DateTimeTZField()

    class Meta:
        table_name = "auditors"


class Settlement(BaseModel):
    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id", unique=True)
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    rewards_earned = AmountField()
    pooler_share_bps = IntegerField()
    compensation_amount = AmountField(default=0)
    pooler_share = AmountField(default=0)  # migration 0002 adds these four
    pooler_debt = AmountField(default=0)
    wallet_balance = AmountField(default=0)
    last_error = TextField(null=True)
    pooler_amount = AmountField()
    farmer_amount = AmountField()
    status = TextField(default="pending")
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()
    completed_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "settlements"


class Payout(BaseModel):
    id = BigAutoField()
    settlement = ForeignKeyField(Settlement, column_name="settlement_id", null=True)
    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    pooler = ForeignKeyField(Pooler, column_name="pooler_id", null=True)
    recipient = TextField()
    destination = CharField(max_length=56)
    asset = TextField()
    amount = AmountField()
    status = TextField(default="pending")
    tx_hash = TextField(null=True)
    ledger = BigIntegerField(null=True)
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()

    class Meta:
        table_name = "payouts"


class TxIntent(BaseModel):
    """The outbox row of one transaction the pool sends (see the 0001 migration)."""

    id = BigAutoField()
    idempotency_key = TextField(unique=True)
    action = TextField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id", null=True)
    pooler = ForeignKeyField(Pooler, column_name="pooler_id", null=True)
    block_index = BigIntegerField(null=True)
    settlement = ForeignKeyField(Settlement, column_name="settlement_id", null=True)
    payout = ForeignKeyField(Payout, column_name="payout_id", null=True)
    amount = AmountField(null=True)  # added by migration 0002
    source = CharField(max_length=56)
    sequence = BigIntegerField(null=True)
    max_time = BigIntegerField(null=True)
    fee = BigIntegerField(null=True)
    envelope_xdr = TextField(null=True)
    tx_hash = TextField(null=True)
    status = TextField(default="new")
    error_code = TextField(null=True)
    error_detail = TextField(null=True)
    attempts = IntegerField(default=0)
    ledger = BigIntegerField(null=True)
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()
    submitted_at = DateTimeTZField(null=True)
    resolved_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "tx_intents"


class Planting(BaseModel):
    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    block_index = BigIntegerField()
    amount = AmountField()
    intent = ForeignKeyField(TxIntent, column_name="intent_id", null=True)
    tx_hash = TextField(null=True)
    ledger = BigIntegerField(null=True)
    created_at = DateTimeTZField()

    class Meta:
        table_name = "plantings"


class Work(BaseModel):
    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    block_index = BigIntegerField()
    hash = BlobField()
    nonce = AmountField()
    zeros = IntegerField()
    gap = IntegerField(null=True)
    tx_hash = TextField(null=True)
    ledger = BigIntegerField(null=True)
    created_at = DateTimeTZField()

    class Meta:
        table_name = "works"


class Harvest(BaseModel):
    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    block_index = BigIntegerField()
    reward = AmountField()
    intent = ForeignKeyField(TxIntent, column_name="intent_id", null=True)
    tx_hash = TextField(null=True)
    ledger = BigIntegerField(null=True)
    created_at = DateTimeTZField()

    class Meta:
        table_name = "harvests"


class Compensation(BaseModel):
    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    block_index = BigIntegerField()
    amount = AmountField()
    reason = TextField()
    settlement = ForeignKeyField(Settlement, column_name="settlement_id", null=True)
    created_at = DateTimeTZField()

    class Meta:
        table_name = "compensations"


class BalanceEntry(BaseModel):
    """One append-only row of the balance ledger: a signed change of one account's balance."""

    id = BigAutoField()
    account_kind = TextField()
    account_id = BigIntegerField()
    asset = TextField()
    delta = AmountField()
    reason = TextField()
    ref_table = TextField()
    ref_id = BigIntegerField()
    block_index = BigIntegerField(null=True)
    created_at = DateTimeTZField()

    class Meta:
        table_name = "balance_ledger"


_BALANCE_SQL = ("SELECT coalesce(sum(delta), 0) FROM balance_ledger "
                "WHERE account_kind = %s AND account_id = %s AND asset = %s")


def balance(account_kind: str, account_id: int, asset: str = "KALE") -> int:
    """An account's balance: the sum of its ledger rows (0 when it has none)."""
    return int(database.execute_sql(_BALANCE_SQL, (account_kind, account_id, asset)).fetchone()[0])


ALL_MODELS = (Pooler, Farmer, Auditor, Settlement, Payout, TxIntent, Planting, Work, Harvest,
              Compensation, BalanceEntry)


class PlantRequest(BaseModel):
    """A pooler's plant request: its slow work runs in the background; the pooler polls for `answer`."""

    id = BigAutoField()
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    status = TextField(default="running")  # running, done, failed
    answer = BinaryJSONField(null=True)
    error_code = TextField(null=True)
    created_at = DateTimeTZField()
    finished_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "plant_requests"
