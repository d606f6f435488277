"""Connections: bound lazily, pooled, and opened only on first use."""
import pytest
from peewee import OperationalError

from config.ports import free_port
from db.connection import DATABASE_UNAVAILABLE, close_database, database, drop_connection, init_database
from tests.served_api import stoppable_postgres


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


def test_a_loop_that_drops_its_connection_after_an_outage_queries_again_once_the_server_is_back():
    with stoppable_postgres() as cluster:
        init_database(cluster.url)
        assert database.execute_sql("SELECT 1").fetchone() == (1,)  # held by this thread, as up's loop does
        cluster.stop()
        cluster.start()
        with pytest.raises(DATABASE_UNAVAILABLE):
            database.execute_sql("SELECT 1")
        drop_connection()
        assert database.execute_sql("SELECT 1").fetchone() == (1,)
        close_database()
