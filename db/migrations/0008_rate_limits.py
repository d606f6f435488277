"""Rate-limit buckets shared by every API worker and process (GCRA: one theoretical arrival time
per key, in unix seconds; UNLOGGED: losing them in a crash only forgives some requests), and an
index that lets the registration-expiry job find never-activated farmers without a scan."""

SQL = """
CREATE UNLOGGED TABLE rate_limits (
    key  text PRIMARY KEY,
    tat  double precision NOT NULL
);
CREATE INDEX farmers_never_activated ON farmers (id) WHERE activated_at IS NULL;
"""


def up(database) -> None:
    """Create rate_limits and farmers_never_activated."""
    database.cursor().execute(SQL)
