"""Migrations: applied once, in order, under an advisory lock; status shows the schema."""
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

import db.migrations
from db.migrate import MigrationError, discover, migrate, status

ROOT = Path(__file__).resolve().parent.parent


def _tables(url: str) -> set[str]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def test_migrate_applies_every_migration_then_nothing(create_database):
    url = create_database()
    assert [m.version for m in migrate(url)] == [m.version for m in discover()]
    assert migrate(url) == []
    assert {"poolers", "farmers", "plantings", "works", "harvests", "tx_intents", "compensations",
            "settlements", "payouts", "settlement_periods", "pooler_debts", "auditors"} <= _tables(url)


def test_status_lists_pending_then_applied(create_database):
    url = create_database()
    assert all(state.applied_at is None for state in status(url))
    migrate(url)
    assert all(state.applied_at is not None and state.known for state in status(url))


def test_five_processes_migrating_at_once_apply_each_migration_exactly_once(create_database):
    url = create_database()
    env = {**os.environ, "DATABASE_URL": url}
    processes = [subprocess.Popen([sys.executable, "manage.py", "db", "migrate"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(5)]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 5, outputs
    applied_lines = [line for output in outputs for line in output.splitlines() if line.startswith("applied ")]
    assert sorted(applied_lines) == sorted(f"applied {m.version:04d}_{m.name}" for m in discover())


def test_db_status_command_shows_applied_migrations(postgres):
    result = subprocess.run([sys.executable, "manage.py", "db", "status"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "DATABASE_URL": postgres}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "0001_initial" in result.stdout and "0 pending" in result.stdout


@pytest.fixture
def migration_dir(tmp_path, monkeypatch):
    """db.migrations pointed at an empty temporary folder."""
    monkeypatch.setattr(db.migrations, "__path__", [str(tmp_path)])
    for name in [name for name in sys.modules if name.startswith("db.migrations.")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path


def test_a_failing_migration_changes_nothing_and_names_itself(create_database, migration_dir):
    (migration_dir / "0001_half.py").write_text(
        "def up(database):\n"
        "    database.execute_sql('CREATE TABLE half_done (id int)')\n"
        "    raise RuntimeError('boom')\n")
    url = create_database()
    with pytest.raises(MigrationError, match="0001_half failed: RuntimeError: boom"):
        migrate(url)
    assert "half_done" not in _tables(url)
    assert status(url)[0].applied_at is None


def test_two_migrations_with_one_number_are_refused(migration_dir):
    (migration_dir / "0002_a.py").write_text("def up(database): pass\n")
    (migration_dir / "0002_b.py").write_text("def up(database): pass\n")
    with pytest.raises(MigrationError, match="two migrations numbered 0002"):
        discover()


def test_a_new_migration_file_is_picked_up_and_applied_after_the_others(create_database, migration_dir):
    (migration_dir / "0001_first.py").write_text("def up(database):\n    database.execute_sql('CREATE TABLE first (id int)')\n")
    (migration_dir / "0002_second.py").write_text("def up(database):\n    database.execute_sql('CREATE TABLE second (id int)')\n")
    url = create_database()
    assert [m.name for m in migrate(url)] == ["first", "second"]
    assert {"first", "second"} <= _tables(url)
