"""The private cluster: created once, restarted on the port it remembers."""
import os
import shutil
import tempfile

import psycopg2
import pytest

from db.cluster import PrivateCluster


@pytest.fixture
def cluster_root():
    root = tempfile.mkdtemp(prefix="kalepool-pg-")
    os.chmod(root, 0o755)  # the postgres user must reach the data dir when we are root
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _execute(url: str, statement: str) -> None:
    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True
        connection.cursor().execute(statement)
    finally:
        connection.close()


def test_private_cluster_restarts_on_its_remembered_port_with_its_data(cluster_root):
    cluster = PrivateCluster(os.path.join(cluster_root, "data"), fast=True).start()
    try:
        _execute(cluster.url, "CREATE TABLE kept (id int)")
        cluster.stop()
        assert not cluster.running()
        again = PrivateCluster(os.path.join(cluster_root, "data")).start()
        assert again.port == cluster.port
        _execute(again.url, "SELECT count(*) FROM kept")
    finally:
        cluster.stop()
