"""Rate-limit buckets shared by every API worker and process (GCRA: one theoretical arrival time
per key, in unix seconds). UNLOGGED: losing them in a crash only forgives some requests."""

SQL = """
CREATE UNLOGGED TABLE rate_limits (
    key  text PRIMARY KEY,
    tat  double precision NOT NULL
);
"""


def up(database) -> None:
    """Create rate_limits."""
    database.cursor().execute(SQL)
