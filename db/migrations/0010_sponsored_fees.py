"""Fee sponsorship: every fee-bump envelope the operator's sponsor account signed for a farmer's
transaction, so the fees it paid can be charged to that farmer at settlement (fees are the
farmer's). What was actually charged is the chain's: `chain_transactions.fee_charged` of the hash.
"""

SQL = """
CREATE TABLE sponsored_fees (
    id          bigserial PRIMARY KEY,
    farmer_id   bigint NOT NULL REFERENCES farmers (id),
    sponsor     text NOT NULL CHECK (length(sponsor) = 56),
    tx_hash     text NOT NULL UNIQUE CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
    max_fee     bigint NOT NULL CHECK (max_fee > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sponsored_fees_farmer ON sponsored_fees (farmer_id);
CREATE TRIGGER sponsored_fees_append_only BEFORE UPDATE OR DELETE ON sponsored_fees
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();
"""


def up(database) -> None:
    """Create sponsored_fees (append-only)."""
    database.cursor().execute(SQL)
