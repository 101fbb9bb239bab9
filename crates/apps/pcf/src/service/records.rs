//! Typed access to the service's document collections.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tsunagu_store::{Document, DocumentStore, Page, StoreError};

/// A named collection of JSON documents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Collection(pub(crate) &'static str);

/// A document read from a collection, with the version an update must name.
#[derive(Debug, Clone)]
pub(crate) struct Stored<T> {
    pub(crate) id: String,
    pub(crate) version: i64,
    pub(crate) value: T,
}

fn decode<T: DeserializeOwned>(document: Document) -> Result<Stored<T>, StoreError> {
    let value = serde_json::from_value(document.body).map_err(|error| StoreError::Corrupt {
        id: format!("{}/{}", document.collection, document.id),
        reason: error.to_string(),
    })?;
    Ok(Stored {
        id: document.id,
        version: document.version,
        value,
    })
}

fn encode<T: Serialize>(value: &T) -> serde_json::Value {
    // Every record type is plain data with string keys; serialising it cannot fail.
    serde_json::to_value(value).expect("service records serialise to JSON")
}

/// Attempts of an insert-or-replace that loses a race to another writer before it gives up.
const UPSERT_ATTEMPTS: usize = 5;

impl Collection {
    pub(crate) async fn get<T: DeserializeOwned>(
        self,
        store: &dyn DocumentStore,
        id: &str,
    ) -> Result<Option<Stored<T>>, StoreError> {
        store.document(self.0, id).await?.map(decode).transpose()
    }

    pub(crate) async fn all<T: DeserializeOwned>(
        self,
        store: &dyn DocumentStore,
    ) -> Result<Vec<Stored<T>>, StoreError> {
        store
            .documents(self.0, Page::ALL)
            .await?
            .into_iter()
            .map(decode)
            .collect()
    }

    pub(crate) async fn by_lookup<T: DeserializeOwned>(
        self,
        store: &dyn DocumentStore,
        lookup: &str,
    ) -> Result<Vec<Stored<T>>, StoreError> {
        store
            .documents_by_lookup(self.0, lookup)
            .await?
            .into_iter()
            .map(decode)
            .collect()
    }

    pub(crate) async fn insert<T: Serialize>(
        self,
        store: &dyn DocumentStore,
        id: &str,
        lookup: Option<&str>,
        value: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        store
            .insert_document(self.0, id, lookup, &encode(value), now.timestamp_millis())
            .await
    }

    /// Replaces a document read before; fails with `Conflict` if it changed since.
    pub(crate) async fn replace<T: Serialize, U>(
        self,
        store: &dyn DocumentStore,
        existing: &Stored<U>,
        lookup: Option<&str>,
        value: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        store
            .update_document(
                self.0,
                &existing.id,
                existing.version,
                lookup,
                &encode(value),
                now.timestamp_millis(),
            )
            .await
            .map(drop)
    }

    /// Writes `value` under `id` whatever was there, for records with one writer at a time
    /// in practice (settings, imports); races with another writer are retried.
    pub(crate) async fn upsert<T: Serialize>(
        self,
        store: &dyn DocumentStore,
        id: &str,
        lookup: Option<&str>,
        value: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = encode(value);
        let at = now.timestamp_millis();
        let mut last_error = None;
        for _ in 0..UPSERT_ATTEMPTS {
            let outcome = match store.document(self.0, id).await? {
                Some(existing) => store
                    .update_document(self.0, id, existing.version, lookup, &body, at)
                    .await
                    .map(drop),
                None => store.insert_document(self.0, id, lookup, &body, at).await,
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(error @ (StoreError::Conflict(_) | StoreError::Duplicate(_))) => {
                    last_error = Some(error)
                }
                Err(other) => return Err(other),
            }
        }
        Err(last_error.unwrap_or_else(|| StoreError::Conflict(id.to_owned())))
    }
}
