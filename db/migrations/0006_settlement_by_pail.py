"""Settlement by pail: each pooler is paid its share of exactly the pails it requested, less
what it owes for the ones it left unworked; what its share cannot cover becomes a debt that
its later shares pay; payouts that a recipient cannot receive become claimable balances.

- paused_blocks: blocks the farm was seen paused in (no compensation for them).
- plant_announcements: which planted pails a pooler was told about while their block was
  open (only those can cost it compensation).
- plantings.share_bps: the pooler's terms when the pail was planted.
- settlement_periods: one row per pooler that requested any of the farmer's pails.
- pooler_debts / debt_collections: compensation a share could not absorb, and what later
  shares paid of it.
- payouts: a claimable-balance form, debt creditors as recipients, one row per attempt.
- the pool-side balance_ledger goes: balances come from the chain-derived custody ledger.
"""

SQL = """
CREATE TABLE plant_announcements (
    farmer_id    bigint NOT NULL REFERENCES farmers (id),
    block_index  bigint NOT NULL,
    pooler_id    bigint NOT NULL REFERENCES poolers (id),
    ledger       bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (farmer_id, block_index)
);
CREATE TRIGGER plant_announcements_append_only BEFORE UPDATE OR DELETE ON plant_announcements
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

-- Blocks during which the pool saw the farm paused: their unworked pails cost no compensation.
CREATE TABLE paused_blocks (
    block_index  bigint PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE plantings ADD COLUMN share_bps integer CHECK (share_bps BETWEEN 0 AND 10000);
ALTER TABLE farmers ADD COLUMN plant_problem text;

ALTER TABLE settlements DROP CONSTRAINT settlements_status_check;
ALTER TABLE settlements ADD CONSTRAINT settlements_status_check
    CHECK (status IN ('pending', 'paying', 'closing', 'done'));
ALTER TABLE settlements ADD COLUMN debt_collected numeric(39, 0) NOT NULL DEFAULT 0;

CREATE TABLE settlement_periods (
    id                bigserial PRIMARY KEY,
    settlement_id     bigint NOT NULL REFERENCES settlements (id),
    pooler_id         bigint NOT NULL REFERENCES poolers (id),
    pails             integer NOT NULL CHECK (pails >= 0),
    rewards           numeric(39, 0) NOT NULL CHECK (rewards >= 0),
    share             numeric(39, 0) NOT NULL CHECK (share >= 0),
    compensation      numeric(39, 0) NOT NULL CHECK (compensation >= 0),
    offset_amount     numeric(39, 0) NOT NULL CHECK (offset_amount >= 0),
    debt              numeric(39, 0) NOT NULL CHECK (debt >= 0),
    debt_collected    numeric(39, 0) NOT NULL CHECK (debt_collected >= 0),
    amount            numeric(39, 0) NOT NULL CHECK (amount >= 0),
    UNIQUE (settlement_id, pooler_id)
);
CREATE TRIGGER settlement_periods_append_only BEFORE UPDATE OR DELETE ON settlement_periods
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

CREATE TABLE pooler_debts (
    id                 bigserial PRIMARY KEY,
    pooler_id          bigint NOT NULL REFERENCES poolers (id),
    creditor_id        bigint NOT NULL REFERENCES farmers (id),
    settlement_id      bigint NOT NULL UNIQUE REFERENCES settlements (id),
    amount             numeric(39, 0) NOT NULL CHECK (amount > 0),
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER pooler_debts_append_only BEFORE UPDATE OR DELETE ON pooler_debts
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

CREATE TABLE debt_collections (
    id             bigserial PRIMARY KEY,
    debt_id        bigint NOT NULL REFERENCES pooler_debts (id),
    settlement_id  bigint NOT NULL REFERENCES settlements (id),
    amount         numeric(39, 0) NOT NULL CHECK (amount > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (debt_id, settlement_id)
);
CREATE TRIGGER debt_collections_append_only BEFORE UPDATE OR DELETE ON debt_collections
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

ALTER TABLE payouts DROP CONSTRAINT payouts_recipient_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_recipient_check CHECK (recipient IN ('farmer', 'pooler', 'creditor', 'sponsor'));
ALTER TABLE payouts DROP CONSTRAINT payouts_settlement_id_recipient_asset_key;
ALTER TABLE payouts ADD COLUMN form text NOT NULL DEFAULT 'payment'
    CHECK (form IN ('payment', 'claimable_balance', 'merge'));
ALTER TABLE payouts ADD COLUMN attempt integer NOT NULL DEFAULT 1;
ALTER TABLE payouts ADD COLUMN debt_id bigint REFERENCES pooler_debts (id);
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check
    CHECK (status IN ('pending', 'sent', 'confirmed', 'failed', 'superseded'));

ALTER TABLE tx_intents DROP CONSTRAINT tx_intents_action_check;
ALTER TABLE tx_intents ADD CONSTRAINT tx_intents_action_check
    CHECK (action IN ('plant', 'work', 'harvest', 'trustline', 'payout', 'close', 'ttl_extend', 'fund', 'merge'));

DROP TABLE balance_ledger;
"""


def up(database) -> None:
    """Create the settlement-by-pail tables and columns; drop the pool-side balance ledger."""
    database.cursor().execute(SQL)
