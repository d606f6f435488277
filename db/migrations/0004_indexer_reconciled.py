"""The ledger up to which reconciliation last matched every pool record with the chain record,
so a settlement can wait until its farmer's last transaction has been reconciled."""

SQL = """
ALTER TABLE indexer_cursor ADD COLUMN reconciled_ledger bigint;
"""


def up(database) -> None:
    """Add indexer_cursor.reconciled_ledger."""
    database.cursor().execute(SQL)
