"""Outbox hardening: every envelope ever signed is kept, and each source account has at
most one live transaction, so sequence numbers never collide however many workers send.
"""

SQL = """
CREATE TABLE tx_attempts (
    id            bigserial PRIMARY KEY,
    intent_id     bigint NOT NULL REFERENCES tx_intents (id),
    attempt       integer NOT NULL CHECK (attempt >= 1),
    source        text NOT NULL CHECK (length(source) = 56),
    sequence      bigint NOT NULL,
    max_time      bigint NOT NULL,
    fee           bigint NOT NULL,
    tx_hash       text NOT NULL UNIQUE CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
    envelope_xdr  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (intent_id, attempt)
);
CREATE TRIGGER tx_attempts_append_only BEFORE UPDATE OR DELETE ON tx_attempts
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

-- What the action moves (a stake, a payout), as the intent states it.
ALTER TABLE tx_intents ADD COLUMN amount numeric(39, 0);

-- The exit split in full: the share before offsetting compensation, what the share could
-- not absorb (pooler debt), and why a payout is waiting.
ALTER TABLE settlements ADD COLUMN pooler_share numeric(39, 0) NOT NULL DEFAULT 0;
ALTER TABLE settlements ADD COLUMN pooler_debt numeric(39, 0) NOT NULL DEFAULT 0;
ALTER TABLE settlements ADD COLUMN wallet_balance numeric(39, 0) NOT NULL DEFAULT 0;
ALTER TABLE settlements ADD COLUMN last_error text;

CREATE UNIQUE INDEX tx_intents_one_live_per_source ON tx_intents (source)
    WHERE status IN ('new', 'submitted');
"""


def up(database) -> None:
    """Create tx_attempts and the one-live-transaction-per-source index."""
    database.cursor().execute(SQL)
