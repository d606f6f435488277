"""The custody ledger: every KALE and XLM movement in or out of a custodial wallet, derived from
the chain record, as two append-only rows that sum to zero (the wallet leg and the contra leg).

Also: a discrepancy's fingerprint is unique among open discrepancies only, and a resolved one
records when its fault went away (`cleared_at`), so a fault that recurs after it was resolved
is raised again.

Existing chain rows are posted by `indexer.custody_ledger.post_all()`, which the indexer runs
when it starts with an empty ledger and `manage.py audit` runs before it checks (db/ may not
import the indexer).
"""

SQL = """
CREATE TABLE custody_entries (
    id            bigserial PRIMARY KEY,
    entry_key     text NOT NULL UNIQUE,
    movement_id   text NOT NULL,
    position      text NOT NULL,
    account       text NOT NULL,
    farmer_id     bigint REFERENCES farmers (id),
    asset         text NOT NULL CHECK (asset IN ('KALE', 'XLM')),
    amount        numeric(39, 0) NOT NULL,
    class         text NOT NULL CHECK (class IN ('deposit', 'stake', 'stake_returned', 'reward', 'fee',
                                                 'compensation', 'payout', 'unexplained')),
    tx_hash       text NOT NULL,
    ledger        bigint NOT NULL,
    block_index   bigint,
    pooler_id     bigint REFERENCES poolers (id),
    counterparty  text
);
CREATE INDEX custody_entries_account ON custody_entries (account, asset, ledger);
CREATE INDEX custody_entries_movement ON custody_entries (movement_id);
CREATE INDEX custody_entries_unexplained ON custody_entries (farmer_id) WHERE class = 'unexplained';
-- posting reads each stored batch's KALE movements by ledger
CREATE INDEX chain_kale_movements_ledger ON chain_kale_movements (ledger);
CREATE TRIGGER custody_entries_append_only BEFORE UPDATE OR DELETE ON custody_entries
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

ALTER TABLE discrepancies DROP CONSTRAINT discrepancies_fingerprint_key;
CREATE UNIQUE INDEX discrepancies_open_fingerprint ON discrepancies (fingerprint) WHERE resolved_at IS NULL;
CREATE INDEX discrepancies_fingerprint ON discrepancies (fingerprint);
-- When a check last found a resolved discrepancy's fault gone; if it comes back it is raised again.
ALTER TABLE discrepancies ADD COLUMN cleared_at timestamptz;
"""


def up(database) -> None:
    """Create custody_entries; make discrepancy fingerprints unique among open ones only; add cleared_at."""
    database.cursor().execute(SQL)
