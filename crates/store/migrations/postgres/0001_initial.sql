-- Records are kept as JSON bodies written by the store from domain types; the columns beside
-- them exist only to find, order and lease rows.
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE asset_chunks (
    asset_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (asset_id, seq)
);
CREATE TABLE policy_definitions (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE contract_definitions (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE negotiations (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    provider_pid TEXT,
    consumer_pid TEXT,
    counter_party_id TEXT NOT NULL,
    state TEXT NOT NULL,
    pending BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX negotiations_provider_pid ON negotiations (provider_pid);
CREATE INDEX negotiations_consumer_pid ON negotiations (consumer_pid);
CREATE INDEX negotiations_due ON negotiations (pending, not_before);
CREATE INDEX negotiations_created ON negotiations (created_at);
CREATE TABLE agreements (
    id TEXT PRIMARY KEY,
    negotiation_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE transfers (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    provider_pid TEXT,
    consumer_pid TEXT,
    counter_party_id TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    token_sha256 TEXT,
    state TEXT NOT NULL,
    pending BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX transfers_provider_pid ON transfers (provider_pid);
CREATE INDEX transfers_consumer_pid ON transfers (consumer_pid);
CREATE INDEX transfers_due ON transfers (pending, not_before);
CREATE INDEX transfers_created ON transfers (created_at);
CREATE UNIQUE INDEX transfers_token ON transfers (token_sha256);
-- A provider creates one transfer per consumer process id and consumer: a repeated
-- TransferRequestMessage finds the first one instead of creating a second.
CREATE UNIQUE INDEX transfers_idempotent_request ON transfers (counter_party_id, consumer_pid)
    WHERE role = 'provider';
