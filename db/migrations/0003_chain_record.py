"""The chain's own record, written by the indexer: one marker per ledger, the transactions
that matter to the pool (or to the farm, with --scope all), every KALE movement, the
cursor of each scope, and the discrepancies reconciliation finds against pool records.

Chain rows are keyed by their on-chain identity (ledger sequence, transaction hash, event
id) and hold no wall-clock columns, so ingesting a ledger twice, or after a crash, leaves
the tables byte for byte as one clean run would.
"""

SQL = """
-- One row per scope: the last ledger whose rows are all stored (start_ledger - 1 before any).
CREATE TABLE indexer_cursor (
    scope         text PRIMARY KEY CHECK (scope IN ('pool', 'all')),
    start_ledger  bigint NOT NULL CHECK (start_ledger >= 1),
    ledger        bigint NOT NULL,
    CHECK (ledger >= start_ledger - 1)
);

CREATE TABLE chain_ledgers (
    sequence           bigint PRIMARY KEY,
    hash               text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    previous_hash      text CHECK (previous_hash ~ '^[0-9a-f]{64}$'),
    close_time         bigint NOT NULL,
    transaction_count  integer NOT NULL CHECK (transaction_count >= 0)
);

CREATE TABLE chain_transactions (
    hash               text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    ledger             bigint NOT NULL,
    application_order  integer NOT NULL CHECK (application_order >= 1),
    close_time         bigint NOT NULL,
    source             text NOT NULL,
    fee_source         text,
    fee_charged        bigint NOT NULL,
    successful         boolean NOT NULL,
    result_code        text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('plant', 'work', 'harvest', 'invoke', 'classic')),
    contract           text,
    function           text,
    args               jsonb,
    return_value       jsonb,
    contract_error     integer,
    farmer             text,
    block_index        bigint,
    stake              numeric(39, 0),
    stake_burned       numeric(39, 0),
    nonce              numeric(20, 0),
    work_hash          text,
    zeros              integer,
    gap                integer,
    reward             numeric(39, 0),
    amount_minted      numeric(39, 0),
    operations         jsonb NOT NULL DEFAULT '[]',
    UNIQUE (ledger, application_order)
);
CREATE INDEX chain_transactions_farmer_block ON chain_transactions (farmer, block_index)
    WHERE farmer IS NOT NULL;
CREATE INDEX chain_transactions_block ON chain_transactions (block_index, kind)
    WHERE block_index IS NOT NULL;
CREATE INDEX chain_transactions_source ON chain_transactions (source);

-- Every KALE movement: SAC mint/burn/transfer/clawback events, by event id.
CREATE TABLE chain_kale_movements (
    id            text PRIMARY KEY CHECK (id ~ '^[0-9]{19}-[0-9]{10}$'),
    ledger        bigint NOT NULL,
    tx_hash       text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('mint', 'burn', 'transfer', 'clawback')),
    from_address  text,
    to_address    text,
    amount        numeric(39, 0) NOT NULL CHECK (amount >= 0)
);
CREATE INDEX chain_kale_movements_from ON chain_kale_movements (from_address);
CREATE INDEX chain_kale_movements_to ON chain_kale_movements (to_address);
CREATE INDEX chain_kale_movements_tx ON chain_kale_movements (tx_hash);

-- A mismatch between a pool record and the chain; detected once (fingerprint), resolved by hand.
CREATE TABLE discrepancies (
    id           bigserial PRIMARY KEY,
    fingerprint  text NOT NULL UNIQUE,
    kind         text NOT NULL,
    farmer_id    bigint REFERENCES farmers (id),
    block_index  bigint,
    pool_side    jsonb,
    chain_side   jsonb,
    detected_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolution   text,
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX discrepancies_open ON discrepancies (farmer_id) WHERE resolved_at IS NULL;
"""


def up(database) -> None:
    """Create the indexer's tables."""
    database.cursor().execute(SQL)
