"""Connections: bound lazily, pooled, and opened only on first use."""
import pytest
from peewee import OperationalError

from db.cluster import free_port
from db.connection import close_database, database, init_database


def test_binding_a_url_opens_no_connection_until_first_query():
    pooled = init_database(f"postgresql://nobody@127.0.0.1:{free_port()}/nothing")
    try:
        assert pooled.is_closed() and database.obj is pooled
        with pytest.raises(OperationalError):
            database.execute_sql("SELECT 1")
    finally:
        close_database()


def test_connections_go_back_to_the_pool_after_use(db):
    with db.connection_context():
        db.execute_sql("SELECT 1")
    with db.connection_context():
        db.execute_sql("SELECT 1")
    assert len(db._connections) == 1
