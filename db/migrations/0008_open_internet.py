"""Rate-limit buckets shared by every API worker and process (GCRA: one theoretical arrival time
per key, in unix seconds; UNLOGGED: losing them in a crash only forgives some requests); an
index that lets the registration-expiry job find never-activated farmers without a scan; and
plant requests, whose slow work goes on in the background while the pooler polls for the outcome."""

SQL = """
CREATE UNLOGGED TABLE rate_limits (
    key  text PRIMARY KEY,
    tat  double precision NOT NULL
);
CREATE INDEX farmers_never_activated ON farmers (id) WHERE activated_at IS NULL;

CREATE TABLE plant_requests (
    id           bigserial PRIMARY KEY,
    pooler_id    bigint NOT NULL REFERENCES poolers (id),
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    answer       jsonb,
    error_code   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX plant_requests_running ON plant_requests (pooler_id) WHERE status = 'running';
"""


def up(database) -> None:
    """Create rate_limits, farmers_never_activated and plant_requests."""
    database.cursor().execute(SQL)
