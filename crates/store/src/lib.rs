//! Storage of one connector: assets and their bytes, policy and contract definitions,
//! negotiations, agreements and transfers.
//!
//! This crate exists so that the rest of tsunagu sees one `Store` trait and never SQL. Two
//! backends implement it, SQLite (the embedded default: one file, WAL) and PostgreSQL (for
//! companies that run several replicas), and one conformance suite (`conformance`) runs
//! against both.
//!
//! It must never interpret records beyond what finding and leasing them needs: state machine
//! rules live in `tsunagu-core`, use cases in `tsunagu-engine`.
//!
//! Concurrency has two guards. Every update names the version it read and fails with
//! `StoreError::Conflict` when another writer got there first. Work that a worker must do (a
//! message owed to a partner) is claimed with a lease: `claim_*` hands a row to one worker until
//! the lease runs out, so replicas sharing a database never process the same row twice, and a
//! replica that dies mid-flight leaves rows that another claims once the lease expires.

mod documents;
mod sql;

pub mod conformance;

use async_trait::async_trait;
use tsunagu_core::{
    Agreement, Asset, ContractDefinition, Negotiation, PolicyDefinition, Role, Transfer,
};

pub use documents::{Document, DocumentStore, JournalEntry};
// `LedgerRow` is defined below, next to the trait that stores it.
pub use sql::{PostgresStore, SqliteError, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a record with id {0} already exists")]
    Duplicate(String),
    #[error("record {0} was changed by someone else since it was read")]
    Conflict(String),
    #[error("stored record {id} cannot be read: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] SqliteError),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A window of a listing, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u32,
    pub limit: u32,
}

impl Page {
    pub const ALL: Page = Page {
        offset: 0,
        limit: u32::MAX,
    };
}

/// Which of the two process ids a lookup names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pid {
    Provider,
    Consumer,
}

/// The outcome of inserting a transfer on the provider side, which is idempotent on the
/// consumer's process id.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferInsert {
    Inserted,
    /// The same consumer already asked with this `consumerPid`; here is that transfer.
    Existing(Box<Transfer>),
}

/// What a worker claims: due rows leased to it.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub owner: &'a str,
    pub now_ms: i64,
    pub lease_ms: i64,
    pub limit: u32,
}

#[async_trait]
pub trait Store: DocumentStore + Send + Sync + 'static {
    /// Short name of the backend, for logs and benchmarks.
    fn backend(&self) -> &'static str;

    async fn insert_asset(&self, asset: &Asset) -> Result<()>;
    async fn replace_asset(&self, asset: &Asset) -> Result<bool>;
    async fn asset(&self, id: &str) -> Result<Option<Asset>>;
    async fn assets(&self, page: Page) -> Result<Vec<Asset>>;
    /// Deletes the asset and its bytes. Returns whether it existed.
    async fn delete_asset(&self, id: &str) -> Result<bool>;
    /// Stores chunk `seq` of an asset's bytes (chunks are numbered from 0).
    async fn put_asset_chunk(&self, asset_id: &str, seq: u32, bytes: &[u8]) -> Result<()>;
    async fn asset_chunk(&self, asset_id: &str, seq: u32) -> Result<Option<Vec<u8>>>;
    async fn delete_asset_chunks(&self, asset_id: &str) -> Result<()>;

    async fn insert_policy_definition(&self, policy: &PolicyDefinition) -> Result<()>;
    async fn replace_policy_definition(&self, policy: &PolicyDefinition) -> Result<bool>;
    async fn policy_definition(&self, id: &str) -> Result<Option<PolicyDefinition>>;
    async fn policy_definitions(&self, page: Page) -> Result<Vec<PolicyDefinition>>;
    async fn delete_policy_definition(&self, id: &str) -> Result<bool>;

    async fn insert_contract_definition(&self, definition: &ContractDefinition) -> Result<()>;
    async fn replace_contract_definition(&self, definition: &ContractDefinition) -> Result<bool>;
    async fn contract_definition(&self, id: &str) -> Result<Option<ContractDefinition>>;
    async fn contract_definitions(&self, page: Page) -> Result<Vec<ContractDefinition>>;
    async fn delete_contract_definition(&self, id: &str) -> Result<bool>;

    /// Inserts a new negotiation; its `version` becomes 1.
    async fn insert_negotiation(&self, negotiation: &mut Negotiation) -> Result<()>;
    /// Inserts a new negotiation already leased to `claim.owner`, so that its first message
    /// can leave at once.
    async fn insert_negotiation_leased(
        &self,
        negotiation: &mut Negotiation,
        claim: Claim<'_>,
    ) -> Result<()>;
    async fn negotiation(&self, id: &str) -> Result<Option<Negotiation>>;
    async fn negotiation_by_pid(
        &self,
        role: Role,
        which: Pid,
        pid: &str,
    ) -> Result<Option<Negotiation>>;
    async fn negotiations(&self, page: Page) -> Result<Vec<Negotiation>>;
    /// Writes a changed negotiation if nobody changed it since it was read (its `version`),
    /// and its agreement, if it has one, in the same transaction. Leaves any lease in place.
    async fn update_negotiation(&self, negotiation: &mut Negotiation) -> Result<()>;
    /// Like `update_negotiation`, and in the same write leases the row to `claim.owner` if
    /// nobody holds a live lease. Returns whether the lease was taken: the caller may then
    /// deliver the pending action at once instead of waiting for a worker to claim it.
    async fn update_negotiation_and_lease(
        &self,
        negotiation: &mut Negotiation,
        claim: Claim<'_>,
    ) -> Result<bool>;
    /// Like `update_negotiation`, and releases the caller's lease on the row.
    async fn finish_negotiation_work(&self, negotiation: &mut Negotiation) -> Result<()>;
    /// Leases due negotiations (a pending action whose time has come, no live lease).
    async fn claim_negotiations(&self, claim: Claim<'_>) -> Result<Vec<Negotiation>>;

    async fn agreement(&self, id: &str) -> Result<Option<Agreement>>;
    async fn agreements(&self, page: Page) -> Result<Vec<Agreement>>;

    /// Inserts a new transfer. On the provider side a second transfer with the same consumer
    /// and `consumer_pid` is not inserted; the first one is returned instead.
    async fn insert_transfer(&self, transfer: &mut Transfer) -> Result<TransferInsert>;
    async fn transfer(&self, id: &str) -> Result<Option<Transfer>>;
    async fn transfer_by_pid(&self, role: Role, which: Pid, pid: &str) -> Result<Option<Transfer>>;
    async fn transfer_by_token(&self, token_sha256: &str) -> Result<Option<Transfer>>;
    async fn transfers(&self, page: Page) -> Result<Vec<Transfer>>;
    /// The transfers made under one agreement (the ODRL `count` operand counts the uses of an
    /// agreement across all of them).
    async fn transfers_under_agreement(&self, agreement_id: &str) -> Result<Vec<Transfer>>;
    async fn update_transfer(&self, transfer: &mut Transfer) -> Result<()>;
    /// See `update_negotiation_and_lease`.
    async fn update_transfer_and_lease(
        &self,
        transfer: &mut Transfer,
        claim: Claim<'_>,
    ) -> Result<bool>;
    async fn finish_transfer_work(&self, transfer: &mut Transfer) -> Result<()>;
    async fn claim_transfers(&self, claim: Claim<'_>) -> Result<Vec<Transfer>>;

    /// Appends log entries at indexes `first`, `first + 1`, ... and, in the same write, the
    /// signed checkpoint of the grown tree (`note`, if given). Fails with
    /// `StoreError::Duplicate` if any index is taken (another replica appended first): the
    /// caller reloads and retries.
    async fn append_ledger(
        &self,
        first: u64,
        rows: &[LedgerRow],
        checkpoint: Option<&str>,
    ) -> Result<()>;
    /// Entries from index `from` on, at most `limit`, in index order.
    async fn ledger_rows(&self, from: u64, limit: u32) -> Result<Vec<(u64, LedgerRow)>>;
    /// Keeps a signed checkpoint of the tree at `size` (the first one written for a size wins).
    async fn put_ledger_checkpoint(&self, size: u64, at_ms: i64, note: &str) -> Result<()>;
    /// The checkpoint of the largest tree signed so far.
    async fn latest_ledger_checkpoint(&self) -> Result<Option<(u64, String)>>;
}

/// One entry of the transaction log as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub at_ms: i64,
    /// The entry's canonical bytes.
    pub entry: Vec<u8>,
    /// RFC 9162 leaf hash of `entry`, kept so that proofs need not rehash every entry.
    pub leaf_hash: Vec<u8>,
}
