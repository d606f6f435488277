"""What a pooler's agents last reported about themselves (hash rate), one row per agent, and
block_index indexes for the per-block views (the pool's recent blocks, the auditor's block page)."""

SQL = """
CREATE TABLE pooler_agent_status (
    pooler_id    bigint NOT NULL REFERENCES poolers (id),
    agent        text NOT NULL CHECK (length(agent) BETWEEN 1 AND 64),
    hash_rate    bigint NOT NULL CHECK (hash_rate >= 0),
    block_index  bigint CHECK (block_index >= 0),
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pooler_id, agent)
);
CREATE INDEX plantings_block ON plantings (block_index);
CREATE INDEX works_block ON works (block_index);
CREATE INDEX harvests_block ON harvests (block_index);
CREATE INDEX compensations_block ON compensations (block_index);
CREATE INDEX settlement_periods_pooler ON settlement_periods (pooler_id);
"""


def up(database) -> None:
    """Create pooler_agent_status and the block_index indexes."""
    database.cursor().execute(SQL)
