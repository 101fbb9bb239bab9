//! Documents and journals: the storage of the apps and of the scheme operator.
//!
//! Those crates keep JSON records that only they interpret (an onboarding application, a
//! footprint, a passport). Rather than each writing SQL, they use this trait, which both
//! backends implement and the conformance suite checks. A document has a version that every
//! update names, so two writers never overwrite each other silently; a journal is an
//! append-only stream (audit trails), which offers no way to change what was written.

use async_trait::async_trait;

use crate::{Page, Result};

/// One stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub collection: String,
    pub id: String,
    /// An optional secondary key to find the document by (a DID, a trace id).
    pub lookup: Option<String>,
    /// 1 when inserted, +1 on every update.
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub body: serde_json::Value,
}

/// One entry of a journal.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Increases with every append, across all streams.
    pub seq: i64,
    pub at_ms: i64,
    pub body: serde_json::Value,
}

#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// Fails with `StoreError::Duplicate` if the collection already holds `id`.
    async fn insert_document(
        &self,
        collection: &str,
        id: &str,
        lookup: Option<&str>,
        body: &serde_json::Value,
        now_ms: i64,
    ) -> Result<()>;
    async fn document(&self, collection: &str, id: &str) -> Result<Option<Document>>;
    /// The documents whose lookup key is `lookup`, oldest first.
    async fn documents_by_lookup(&self, collection: &str, lookup: &str) -> Result<Vec<Document>>;
    /// Oldest first.
    async fn documents(&self, collection: &str, page: Page) -> Result<Vec<Document>>;
    /// Replaces the document if it is still at `expected_version`; fails with
    /// `StoreError::Conflict` otherwise (also when it no longer exists). Returns the new version.
    async fn update_document(
        &self,
        collection: &str,
        id: &str,
        expected_version: i64,
        lookup: Option<&str>,
        body: &serde_json::Value,
        now_ms: i64,
    ) -> Result<i64>;
    async fn delete_document(&self, collection: &str, id: &str) -> Result<bool>;

    /// Appends to a journal; returns the entry's sequence number.
    async fn append_journal(
        &self,
        stream: &str,
        body: &serde_json::Value,
        now_ms: i64,
    ) -> Result<i64>;
    /// Entries of one stream with `seq > after`, in order.
    async fn journal(&self, stream: &str, after: i64, limit: u32) -> Result<Vec<JournalEntry>>;
}
