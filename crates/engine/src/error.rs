use tsunagu_core::IllegalTransition;
use tsunagu_store::StoreError;

use crate::peer::PeerError;

/// Why a use case did not happen. Each HTTP surface maps these to its own error format in one
/// place; the texts of `NotFound`, `BadRequest` and `IllegalTransition` only describe the
/// caller's own request and may be sent back, the others are logged and replaced by a generic
/// message.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Unknown, or not visible to this caller (the protocol answers both with 404).
    #[error("not found")]
    NotFound,
    /// What an app's inbox handler was asked for does not exist; unlike `NotFound` the text
    /// is meant for the caller (the data plane answers 404 with it).
    #[error("{0}")]
    Unknown(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The record exists already (management API creations).
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The record is in use and cannot be changed or deleted.
    #[error("{0}")]
    Conflict(String),
    #[error("the counter-party could not be reached or refused: {0}")]
    Peer(#[from] PeerError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// Something of ours broke (not the caller's request); logged, never sent back.
    #[error("internal error: {0}")]
    Internal(String),
}
