-- The transaction log: one row per entry, dense indexes from 0, never updated or deleted.
CREATE TABLE ledger (
    idx BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    entry BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL
);
-- Signed checkpoints (C2SP signed notes), one per tree size that was signed.
CREATE TABLE ledger_checkpoints (
    size BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    note TEXT NOT NULL
);
