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


def test_private_cluster_accepts_only_the_pool_role_with_its_password(cluster_root):
    cluster = PrivateCluster(os.path.join(cluster_root, "data"), fast=True).start()
    try:
        _execute(cluster.url, "CREATE ROLE intruder LOGIN SUPERUSER")
        assert os.stat(cluster.password_file).st_mode & 0o777 == 0o600
        for url in (f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres",
                    f"postgresql://postgres:wrong@127.0.0.1:{cluster.port}/postgres",
                    f"postgresql://intruder@127.0.0.1:{cluster.port}/postgres"):
            with pytest.raises(psycopg2.OperationalError):
                psycopg2.connect(url, connect_timeout=10)
        _execute(cluster.url, "SELECT 1")
    finally:
        cluster.stop()


def test_a_cluster_made_before_passwords_requires_one_from_its_next_start(cluster_root):
    cluster = PrivateCluster(os.path.join(cluster_root, "data"), fast=True).start()
    try:
        _execute(cluster.url, "ALTER ROLE postgres PASSWORD NULL")  # as an old, trusting cluster was
        (cluster.data_dir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
        cluster.stop()
        cluster.password_file.unlink()
        cluster.start()
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres", connect_timeout=10)
        _execute(cluster.url, "SELECT 1")
    finally:
        cluster.stop()
