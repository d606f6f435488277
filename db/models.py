"""peewee models over the schema the migrations create (the migrations are the source of truth).

Every model is bound to `db.connection.database`, a proxy that a process binds
with `init_database(url)` after it forks. Amounts are `AmountField`s: exact
Python ints in NUMERIC(39,0) columns, never floats.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from peewee import (BigAutoField, BigIntegerField, BlobField, BooleanField, CharField, CompositeKey,
                    DecimalField, ForeignKeyField, IntegerField, Model, TextField)
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from db.connection import database

FARMER_STATUSES = ("awaiting_funding", "active", "leaving", "departed")
INTENT_STATUSES = ("new", "submitted", "success", "failed", "dead")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


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
    plant_problem = TextField(null=True)  # why the last plant request left it unplanted

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
    debt_collected = AmountField(default=0)
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
    recipient = TextField()  # farmer, pooler, or creditor (a farmer a pooler's debt is owed to)
    destination = CharField(max_length=56)
    asset = TextField()
    amount = AmountField()
    form = TextField(default="payment")  # payment, claimable_balance, or merge (XLM)
    attempt = IntegerField(default=1)  # the payout transaction attempt it belongs to
    debt_id = BigIntegerField(null=True)  # the pooler_debts row a creditor payout pays
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
    share_bps = IntegerField(null=True)  # the pooler's terms when the pail was planted
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


class PlantAnnouncement(BaseModel):
    """A planted pail the pool told its pooler about while the pail's block was still open:
    only such a pail, left unworked, costs the pooler compensation."""

    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    block_index = BigIntegerField()
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    ledger = BigIntegerField()
    created_at = DateTimeTZField(default=_now)

    class Meta:
        table_name = "plant_announcements"
        primary_key = CompositeKey("farmer", "block_index")


class PausedBlock(BaseModel):
    """A block during which the pool saw the farm paused: nobody could work it, nobody owes for it."""

    block_index = BigIntegerField(primary_key=True)
    created_at = DateTimeTZField(default=_now)

    class Meta:
        table_name = "paused_blocks"

    @staticmethod
    def note(index: int) -> None:
        """Record that the farm was paused during block `index` (once)."""
        PausedBlock.insert(block_index=index).on_conflict_ignore().execute()


class SettlementPeriod(BaseModel):
    """One pooler's part of a settlement: its pails' rewards, its share, what it owed the farmer,
    what its share paid of its older debts, and what it is paid."""

    id = BigAutoField()
    settlement = ForeignKeyField(Settlement, column_name="settlement_id", backref="periods")
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    pails = IntegerField()
    rewards = AmountField()
    share = AmountField()
    compensation = AmountField()
    offset_amount = AmountField()
    debt = AmountField()
    debt_collected = AmountField()
    amount = AmountField()

    class Meta:
        table_name = "settlement_periods"


class PoolerDebt(BaseModel):
    """Compensation a pooler's share of one settlement could not cover: owed to that farmer,
    paid from the pooler's later shares."""

    id = BigAutoField()
    pooler = ForeignKeyField(Pooler, column_name="pooler_id")
    creditor = ForeignKeyField(Farmer, column_name="creditor_id")
    settlement = ForeignKeyField(Settlement, column_name="settlement_id")
    amount = AmountField()
    created_at = DateTimeTZField(default=_now)

    class Meta:
        table_name = "pooler_debts"


class DebtCollection(BaseModel):
    """What one later settlement's pooler share paid of a debt."""

    id = BigAutoField()
    debt = ForeignKeyField(PoolerDebt, column_name="debt_id")
    settlement = ForeignKeyField(Settlement, column_name="settlement_id")
    amount = AmountField()
    created_at = DateTimeTZField(default=_now)

    class Meta:
        table_name = "debt_collections"


class UsedChallenge(BaseModel):
    """A SEP-10 challenge the pool accepted (by its transaction hash), never accepted again."""

    tx_hash = TextField(primary_key=True)
    account = CharField(max_length=56)
    purpose = TextField()
    expires_at = DateTimeTZField()
    used_at = DateTimeTZField()

    class Meta:
        table_name = "used_challenges"


class PayoutAddressChange(BaseModel):
    """One change of a farmer's payout address: signed (applied at once) or delayed (pending until due)."""

    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id")
    old_address = CharField(max_length=56)
    new_address = CharField(max_length=56)
    method = TextField()
    status = TextField()
    reason = TextField(null=True)
    requested_at = DateTimeTZField()
    effective_at = DateTimeTZField()
    resolved_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "payout_address_changes"


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


ALL_MODELS = (Pooler, Farmer, Auditor, Settlement, Payout, TxIntent, Planting, Work, Harvest,
              Compensation, PlantAnnouncement, PausedBlock, SettlementPeriod, PoolerDebt, DebtCollection, UsedChallenge,
              PayoutAddressChange, PlantRequest)
