"""peewee models over the indexer's tables (migration 0003): the chain's own record.

Chain rows are keyed by on-chain identity: ledgers by sequence, transactions by hash,
KALE movements by event id. Amounts are exact ints (`AmountField`).
"""
from __future__ import annotations

from peewee import (BigAutoField, BigIntegerField, BooleanField, ForeignKeyField, IntegerField,
                    TextField, fn)
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from db.connection import database
from db.models import AmountField, BaseModel, Farmer, TxIntent

SCOPES = ("pool", "all")


class IndexerCursor(BaseModel):
    """The last ledger whose rows are all stored, per scope, and the ledger up to which
    reconciliation last matched every pool record with them (migration 0004)."""

    scope = TextField(primary_key=True)
    start_ledger = BigIntegerField()
    ledger = BigIntegerField()
    reconciled_ledger = BigIntegerField(null=True)

    class Meta:
        table_name = "indexer_cursor"


class ChainLedger(BaseModel):
    """One marker per ingested ledger: its hash, its parent's hash, close time and size."""

    sequence = BigIntegerField(primary_key=True)
    hash = TextField()
    previous_hash = TextField(null=True)
    close_time = BigIntegerField()
    transaction_count = IntegerField()

    class Meta:
        table_name = "chain_ledgers"


class ChainTransaction(BaseModel):
    """A transaction as the chain recorded it, decoded: the call, its outcome and effects."""

    hash = TextField(primary_key=True)
    ledger = BigIntegerField()
    application_order = IntegerField()
    close_time = BigIntegerField()
    source = TextField()
    fee_source = TextField(null=True)
    fee_charged = BigIntegerField()
    successful = BooleanField()
    result_code = TextField()
    kind = TextField()
    contract = TextField(null=True)
    function = TextField(null=True)
    args = BinaryJSONField(null=True)
    return_value = BinaryJSONField(null=True)
    contract_error = IntegerField(null=True)
    farmer = TextField(null=True)
    block_index = BigIntegerField(null=True)
    stake = AmountField(null=True)
    stake_burned = AmountField(null=True)
    nonce = AmountField(null=True)
    work_hash = TextField(null=True)
    zeros = IntegerField(null=True)
    gap = IntegerField(null=True)
    reward = AmountField(null=True)
    amount_minted = AmountField(null=True)
    operations = BinaryJSONField(default=list)

    class Meta:
        table_name = "chain_transactions"


class ChainKaleMovement(BaseModel):
    """One KALE movement (SAC mint, burn, transfer or clawback event)."""

    id = TextField(primary_key=True)
    ledger = BigIntegerField()
    tx_hash = TextField()
    kind = TextField()
    from_address = TextField(null=True)
    to_address = TextField(null=True)
    amount = AmountField()

    class Meta:
        table_name = "chain_kale_movements"


class Discrepancy(BaseModel):
    """A pool record and the chain disagree; open until someone resolves it. The fingerprint
    is unique among open discrepancies (migration 0005): a resolved fault that went away
    (`cleared_at`: a check no longer found it) and comes back is raised again."""

    id = BigAutoField()
    fingerprint = TextField()
    kind = TextField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id", null=True)
    block_index = BigIntegerField(null=True)
    pool_side = BinaryJSONField(null=True)
    chain_side = BinaryJSONField(null=True)
    detected_at = DateTimeTZField(default=fn.now)
    resolved_at = DateTimeTZField(null=True)
    resolution = TextField(null=True)
    cleared_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "discrepancies"


def open_discrepancies() -> int:
    """How many discrepancies are unresolved (the alarm metric)."""
    return Discrepancy.select().where(Discrepancy.resolved_at.is_null()).count()


# Discrepancy kinds whose figures are a farmer's money: an open one holds its settlement.
# Others (work_*, tx_failed, planting or harvest records, expired pails...) are alarms that
# settlement does not depend on: it pays from the custody ledger, which the chain decides.
SETTLEMENT_BLOCKING_KINDS = ("balance_mismatch", "unexplained_movement", "settlement_mismatch", "payout_mismatch",
                             "payout_not_on_chain", "sent_twice", "compensation_mismatch")


def settlement_blocker(farmer_id: int, scope: str = "pool") -> str | None:
    """Why the chain record says a farmer must not be settled yet: an open discrepancy touches
    its money (SETTLEMENT_BLOCKING_KINDS), or reconciliation has not yet covered its last
    transaction. None when nothing does."""
    kinds = sorted({row.kind for row in Discrepancy.select(Discrepancy.kind).where(
        Discrepancy.farmer_id == farmer_id, Discrepancy.resolved_at.is_null(),
        Discrepancy.kind.in_(SETTLEMENT_BLOCKING_KINDS))})
    if kinds:
        return f"unresolved discrepancies concern this farmer: {', '.join(kinds)}"
    last = TxIntent.select(fn.MAX(TxIntent.ledger)).where(TxIntent.farmer == farmer_id).scalar()
    cursor = IndexerCursor.get_or_none(IndexerCursor.scope == scope)
    reconciled = cursor.reconciled_ledger if cursor is not None else None
    if reconciled is None or (last is not None and reconciled < last):
        return (f"the chain record is reconciled up to ledger {reconciled}; this farmer's last "
                f"transaction is in ledger {last}")
    return None


CHAIN_MODELS = (IndexerCursor, ChainLedger, ChainTransaction, ChainKaleMovement, Discrepancy)


def newest_planted_block() -> int:
    """The newest block a plant in the chain record went into (0 before any): every block below
    it had closed by the last stored ledger."""
    row = database.execute_sql("SELECT max(block_index) FROM chain_transactions "
                               "WHERE kind = 'plant' AND successful").fetchone()
    return row[0] if row and row[0] is not None else 0
