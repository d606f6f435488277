"""Guarding where a farmer's money goes: SEP-10 challenges are used once, and every payout-address
change (signed and immediate, or unsigned and delayed) is recorded and visible.
"""

SQL = """
-- A SEP-10 challenge the pool accepted, by the hash of its transaction (signatures excluded),
-- so that it can never be accepted twice. Rows past expires_at may be deleted: an expired
-- challenge is refused anyway.
CREATE TABLE used_challenges (
    tx_hash     text PRIMARY KEY CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
    account     text NOT NULL CHECK (length(account) = 56),
    purpose     text NOT NULL CHECK (purpose IN ('token', 'payout_address')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX used_challenges_expires_at ON used_challenges (expires_at);

-- Every change of a farmer's payout address. 'signed': proven by a challenge signed by the old
-- address, applied at once. 'delayed': the old address never existed on chain, so nobody could
-- sign for it; the change waits until effective_at, and is cancelled if the old address comes
-- to exist, the farmer cancels it, or the payout is built first.
CREATE TABLE payout_address_changes (
    id            bigserial PRIMARY KEY,
    farmer_id     bigint NOT NULL REFERENCES farmers (id),
    old_address   text NOT NULL CHECK (length(old_address) = 56),
    new_address   text NOT NULL CHECK (length(new_address) = 56),
    method        text NOT NULL CHECK (method IN ('signed', 'delayed')),
    status        text NOT NULL CHECK (status IN ('pending', 'applied', 'cancelled')),
    reason        text,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    effective_at  timestamptz NOT NULL,
    resolved_at   timestamptz,
    CHECK ((status = 'pending') = (resolved_at IS NULL))
);
CREATE UNIQUE INDEX payout_address_changes_one_pending ON payout_address_changes (farmer_id)
    WHERE status = 'pending';
CREATE INDEX payout_address_changes_farmer ON payout_address_changes (farmer_id, id);
"""


def up(database) -> None:
    """Create used_challenges and payout_address_changes."""
    database.cursor().execute(SQL)
