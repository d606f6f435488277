"""Fees the operator's sponsor account paid for farmers' transactions (table sponsored_fees).

A row is written for every fee-bump envelope the sponsor signs, before it can be sent; what the
network charged is read from the chain record (`chain_transactions.fee_charged` of the hash), so
the farmer is charged exactly what the chain took, and nothing for an envelope that never landed.
"""
from __future__ import annotations

from peewee import BigAutoField, BigIntegerField, CharField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from db.connection import database
from db.models import BaseModel, Farmer


class SponsoredFee(BaseModel):
    """One fee-bump envelope the sponsor signed for a farmer's transaction, with its maximum fee."""

    id = BigAutoField()
    farmer = ForeignKeyField(Farmer, column_name="farmer_id", backref="sponsored_fees")
    sponsor = CharField(max_length=56)
    tx_hash = TextField(unique=True)
    max_fee = BigIntegerField()
    created_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "sponsored_fees"


def record_sponsored(farmer_id: int, sponsor: str, tx_hash: str, max_fee: int) -> None:
    """Record a fee-bump envelope the sponsor signed for `farmer_id` (before it may be sent)."""
    SponsoredFee.create(farmer=farmer_id, sponsor=sponsor, tx_hash=tx_hash, max_fee=max_fee)


def sponsored_fees_total(farmer_id: int, before: list[str] | None = None) -> int:
    """Stroops the sponsor paid for `farmer_id`'s transactions, as the chain record charged them
    (what the settlement charges the farmer; only indexed transactions count), leaving out the
    transactions in `before` (the payout's own, which the sponsor bears)."""
    row = database.execute_sql(
        "SELECT COALESCE(SUM(t.fee_charged), 0) FROM sponsored_fees s "
        "JOIN chain_transactions t ON t.hash = s.tx_hash WHERE s.farmer_id = %s AND NOT t.hash = ANY(%s)",
        (farmer_id, before or [])).fetchone()
    return int(row[0])


def sponsor_of(farmer_id: int) -> str | None:
    """The account that sponsored the farmer's fees most recently (None if none ever did)."""
    row = (SponsoredFee.select(SponsoredFee.sponsor).where(SponsoredFee.farmer == farmer_id)
           .order_by(SponsoredFee.id.desc()).first())
    return None if row is None else row.sponsor


def sponsored_fees_committed(farmer_id: int) -> int:
    """What counts against the farmer's sponsorship cap: fees charged on chain, plus the maximum fee
    of every sponsored envelope that is not on the chain record yet and may still land."""
    row = database.execute_sql(
        "SELECT COALESCE(SUM(CASE WHEN t.hash IS NOT NULL THEN t.fee_charged ELSE s.max_fee END), 0) "
        "FROM sponsored_fees s LEFT JOIN chain_transactions t ON t.hash = s.tx_hash "
        "LEFT JOIN tx_attempts a ON a.tx_hash = s.tx_hash LEFT JOIN tx_intents i ON i.id = a.intent_id "
        "WHERE s.farmer_id = %s AND (t.hash IS NOT NULL OR i.status IN ('new', 'submitted', 'success', 'failed'))",
        (farmer_id,)).fetchone()
    return int(row[0])
