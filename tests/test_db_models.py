"""Models: exact amounts, unique action keys, append-only records."""
import pytest
from peewee import IntegrityError

from db.models import Farmer, Planting, TxIntent

I128_MAX = 2**127 - 1


def test_amounts_round_trip_i128_exactly(rows):
    farmer = rows.farmer()
    Planting.create(farmer=farmer, pooler=farmer.pooler, block_index=1, amount=I128_MAX)
    stored = Planting.get(Planting.block_index == 1).amount
    assert stored == I128_MAX and type(stored) is int


def test_amounts_refuse_floats(rows):
    farmer = rows.farmer()
    with pytest.raises(TypeError, match="int stroops"):
        Planting.create(farmer=farmer, pooler=farmer.pooler, block_index=1, amount=1.5)


def test_one_planting_per_farmer_and_block(rows, db):
    farmer = rows.farmer()
    Planting.create(farmer=farmer, pooler=farmer.pooler, block_index=7, amount=10)
    with pytest.raises(IntegrityError), db.atomic():
        Planting.create(farmer=farmer, pooler=farmer.pooler, block_index=7, amount=11)


def test_action_records_refuse_updates_and_deletes(rows, db):
    farmer = rows.farmer()
    planting = Planting.create(farmer=farmer, pooler=farmer.pooler, block_index=7, amount=10)
    with pytest.raises(Exception, match="append-only"), db.atomic():
        Planting.update(amount=0).where(Planting.id == planting.id).execute()
    with pytest.raises(Exception, match="append-only"), db.atomic():
        planting.delete_instance()


def test_one_intent_per_farmer_block_and_action(rows, db):
    farmer = rows.farmer()
    fields = dict(action="plant", farmer=farmer, block_index=3, source=farmer.custodial_address)
    TxIntent.create(idempotency_key="plant:1:3", status="success", **fields)
    with pytest.raises(IntegrityError), db.atomic():
        TxIntent.create(idempotency_key="plant:1:3-again", **fields)
    TxIntent.create(idempotency_key="harvest:1:3", status="success", **{**fields, "action": "harvest"})


def test_intent_status_is_constrained(rows, db):
    farmer = rows.farmer()
    with pytest.raises(IntegrityError), db.atomic():
        TxIntent.create(idempotency_key="x", action="plant", farmer=farmer, block_index=1,
                        source=farmer.custodial_address, status="maybe")


def test_farmer_status_is_constrained(rows, db):
    with pytest.raises(IntegrityError), db.atomic():
        rows.farmer(status="sleeping")


def test_next_id_reserves_the_id_a_farmer_is_then_created_with(rows):
    reserved = Farmer.next_id()
    assert rows.farmer(id=reserved).id == reserved
