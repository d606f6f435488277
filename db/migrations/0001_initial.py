"""The pool's first schema: poolers, farmers, auditors, action records, the transaction
outbox, compensations, settlements, payouts and the append-only balance ledger.

Amounts are NUMERIC(39,0): any i128 stroop value fits exactly. Addresses are
Stellar strkeys (56 characters). Timestamps are timestamptz.
"""

SQL = """
CREATE FUNCTION kalepool_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION kalepool_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TABLE poolers (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    payout_address  text NOT NULL CHECK (length(payout_address) = 56),
    api_key_hash    text NOT NULL UNIQUE,
    capacity        integer NOT NULL CHECK (capacity > 0),
    share_bps       integer NOT NULL CHECK (share_bps BETWEEN 0 AND 10000),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE farmers (
    id                       bigserial PRIMARY KEY,
    custodial_address        text NOT NULL UNIQUE CHECK (length(custodial_address) = 56),
    -- AES-256-GCM of the secret seed under the farmer's data key (ciphertext || tag)
    secret_ciphertext        bytea NOT NULL,
    secret_nonce             bytea NOT NULL,
    -- the data key, AES-256-GCM-wrapped under the master key named by master_key_id
    data_key_wrapped         bytea NOT NULL,
    data_key_nonce           bytea NOT NULL,
    master_key_id            text NOT NULL,
    key_version              integer NOT NULL DEFAULT 1,
    payout_address           text NOT NULL CHECK (length(payout_address) = 56),
    pooler_id                bigint NOT NULL REFERENCES poolers (id),
    stake_bps                integer NOT NULL CHECK (stake_bps BETWEEN 0 AND 10000),
    harvest_interval_blocks  integer NOT NULL CHECK (harvest_interval_blocks > 0),
    status                   text NOT NULL DEFAULT 'awaiting_funding'
                             CHECK (status IN ('awaiting_funding', 'active', 'leaving', 'departed')),
    api_token_hash           text NOT NULL UNIQUE,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    activated_at             timestamptz,
    exit_requested_at        timestamptz,
    departed_at              timestamptz
);
CREATE INDEX farmers_pooler_status ON farmers (pooler_id, status);

CREATE TABLE auditors (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox: every transaction the pool sends is written here, signed, before it is
-- submitted, and resolved from the chain after. idempotency_key names the intent
-- ("plant:<farmer>:<block>", "payout:<payout id>", ...) so it can exist only once.
CREATE TABLE tx_intents (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    action           text NOT NULL CHECK (action IN ('plant', 'work', 'harvest', 'trustline', 'payout',
                                                     'ttl_extend', 'fund', 'merge')),
    farmer_id        bigint REFERENCES farmers (id),
    pooler_id        bigint REFERENCES poolers (id),
    block_index      bigint,
    settlement_id    bigint,
    payout_id        bigint,
    source           text NOT NULL CHECK (length(source) = 56),
    sequence         bigint,
    max_time         bigint,
    fee              bigint,
    envelope_xdr     text,
    tx_hash          text CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
    status           text NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'submitted', 'success', 'failed', 'dead')),
    error_code       text,
    error_detail     text,
    attempts         integer NOT NULL DEFAULT 0,
    ledger           bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    submitted_at     timestamptz,
    resolved_at      timestamptz
);
CREATE UNIQUE INDEX tx_intents_farmer_block_action ON tx_intents (farmer_id, block_index, action)
    WHERE farmer_id IS NOT NULL AND block_index IS NOT NULL;
CREATE UNIQUE INDEX tx_intents_payout ON tx_intents (payout_id) WHERE payout_id IS NOT NULL;
CREATE INDEX tx_intents_open ON tx_intents (status, created_at) WHERE status IN ('new', 'submitted');
CREATE INDEX tx_intents_hash ON tx_intents (tx_hash);

-- Immutable action records: what the chain confirmed, one per farmer, block and action.
CREATE TABLE plantings (
    id           bigserial PRIMARY KEY,
    farmer_id    bigint NOT NULL REFERENCES farmers (id),
    pooler_id    bigint NOT NULL REFERENCES poolers (id),
    block_index  bigint NOT NULL CHECK (block_index >= 0),
    amount       numeric(39, 0) NOT NULL CHECK (amount >= 0),
    intent_id    bigint REFERENCES tx_intents (id),
    tx_hash      text,
    ledger       bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (farmer_id, block_index)
);

CREATE INDEX plantings_pooler ON plantings (pooler_id);

CREATE TABLE works (
    id           bigserial PRIMARY KEY,
    farmer_id    bigint NOT NULL REFERENCES farmers (id),
    pooler_id    bigint NOT NULL REFERENCES poolers (id),
    block_index  bigint NOT NULL CHECK (block_index >= 0),
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    nonce        numeric(20, 0) NOT NULL CHECK (nonce >= 0),
    zeros        integer NOT NULL CHECK (zeros BETWEEN 0 AND 64),
    gap          integer,
    tx_hash      text,
    ledger       bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (farmer_id, block_index)
);

CREATE INDEX works_pooler ON works (pooler_id);

CREATE TABLE harvests (
    id           bigserial PRIMARY KEY,
    farmer_id    bigint NOT NULL REFERENCES farmers (id),
    block_index  bigint NOT NULL CHECK (block_index >= 0),
    reward       numeric(39, 0) NOT NULL CHECK (reward >= 0),
    intent_id    bigint REFERENCES tx_intents (id),
    tx_hash      text,
    ledger       bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (farmer_id, block_index)
);

-- A planted pail the pooler did not work: the stake the pooler owes the farmer.
CREATE TABLE compensations (
    id             bigserial PRIMARY KEY,
    farmer_id      bigint NOT NULL REFERENCES farmers (id),
    pooler_id      bigint NOT NULL REFERENCES poolers (id),
    block_index    bigint NOT NULL,
    amount         numeric(39, 0) NOT NULL CHECK (amount >= 0),
    reason         text NOT NULL,
    settlement_id  bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (farmer_id, block_index)
);
CREATE INDEX compensations_pooler ON compensations (pooler_id);

-- One exit settlement per farmer: the split of what it earned in the pool.
CREATE TABLE settlements (
    id                   bigserial PRIMARY KEY,
    farmer_id            bigint NOT NULL UNIQUE REFERENCES farmers (id),
    pooler_id            bigint NOT NULL REFERENCES poolers (id),
    rewards_earned       numeric(39, 0) NOT NULL CHECK (rewards_earned >= 0),
    pooler_share_bps     integer NOT NULL CHECK (pooler_share_bps BETWEEN 0 AND 10000),
    compensation_amount  numeric(39, 0) NOT NULL DEFAULT 0 CHECK (compensation_amount >= 0),
    pooler_amount        numeric(39, 0) NOT NULL CHECK (pooler_amount >= 0),
    farmer_amount        numeric(39, 0) NOT NULL CHECK (farmer_amount >= 0),
    status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paying', 'done')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    completed_at         timestamptz
);
ALTER TABLE compensations ADD FOREIGN KEY (settlement_id) REFERENCES settlements (id);
ALTER TABLE tx_intents ADD FOREIGN KEY (settlement_id) REFERENCES settlements (id);

CREATE TABLE payouts (
    id             bigserial PRIMARY KEY,
    settlement_id  bigint REFERENCES settlements (id),
    farmer_id      bigint NOT NULL REFERENCES farmers (id),
    pooler_id      bigint REFERENCES poolers (id),
    recipient      text NOT NULL CHECK (recipient IN ('farmer', 'pooler')),
    destination    text NOT NULL CHECK (length(destination) = 56),
    asset          text NOT NULL CHECK (asset IN ('KALE', 'XLM')),
    amount         numeric(39, 0) NOT NULL CHECK (amount > 0),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'confirmed', 'failed')),
    tx_hash        text,
    ledger         bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (settlement_id, recipient, asset)
);
ALTER TABLE tx_intents ADD FOREIGN KEY (payout_id) REFERENCES payouts (id);

-- Every balance the pool shows is a sum over this table; rows are never changed.
-- (account_kind, account_id) is a farmer, a pooler, or the pool itself (id 0).
CREATE TABLE balance_ledger (
    id            bigserial PRIMARY KEY,
    account_kind  text NOT NULL CHECK (account_kind IN ('farmer', 'pooler', 'pool')),
    account_id    bigint NOT NULL,
    asset         text NOT NULL CHECK (asset IN ('KALE', 'XLM')),
    delta         numeric(39, 0) NOT NULL,
    reason        text NOT NULL,
    ref_table     text NOT NULL,
    ref_id        bigint NOT NULL,
    block_index   bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ref_table, ref_id, reason, account_kind, account_id, asset)
);
CREATE INDEX balance_ledger_account ON balance_ledger (account_kind, account_id, asset);

CREATE TRIGGER plantings_append_only BEFORE UPDATE OR DELETE ON plantings
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();
CREATE TRIGGER works_append_only BEFORE UPDATE OR DELETE ON works
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();
CREATE TRIGGER harvests_append_only BEFORE UPDATE OR DELETE ON harvests
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();
CREATE TRIGGER balance_ledger_append_only BEFORE UPDATE OR DELETE ON balance_ledger
    FOR EACH ROW EXECUTE FUNCTION kalepool_refuse_change();

CREATE TRIGGER poolers_updated_at BEFORE UPDATE ON poolers
    FOR EACH ROW EXECUTE FUNCTION kalepool_touch_updated_at();
CREATE TRIGGER farmers_updated_at BEFORE UPDATE ON farmers
    FOR EACH ROW EXECUTE FUNCTION kalepool_touch_updated_at();
CREATE TRIGGER tx_intents_updated_at BEFORE UPDATE ON tx_intents
    FOR EACH ROW EXECUTE FUNCTION kalepool_touch_updated_at();
CREATE TRIGGER settlements_updated_at BEFORE UPDATE ON settlements
    FOR EACH ROW EXECUTE FUNCTION kalepool_touch_updated_at();
CREATE TRIGGER payouts_updated_at BEFORE UPDATE ON payouts
    FOR EACH ROW EXECUTE FUNCTION kalepool_touch_updated_at();
"""


def up(database) -> None:
    """Create the initial schema (a raw cursor: the SQL holds literal % signs)."""
    database.cursor().execute(SQL)
