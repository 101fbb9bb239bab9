//! Inbox assets: the one place where a *consumer* sends bytes to its provider.
//!
//! An app that wants to receive messages from partners (the PCF app's trade requests and
//! answers) publishes an asset with `AssetContent::Inbox` under a contract policy of its
//! choice and registers an `InboxHandler` for it. A partner negotiates for the asset, starts
//! a pull transfer and, instead of pulling, posts its message to the provider's data plane
//! with the transfer's token. The connector checks what it checks for a pull (transfer
//! started, token fresh, agreement policy holds), hands the body to the handler together
//! with the counter-party the transfer was agreed with, and logs the delivery.
//!
//! An inbox also takes calls below its data address (`GET`, `PUT` or `POST` on
//! `<endpoint>/<sub-path>?<query>`), for apps whose partners speak an HTTP API through the
//! data plane, as Catena-X proxied assets do (the PCF exchange's `/footprintExchange/{id}`).
//! Such a call is checked, logged and handed over exactly like a posted message; the handler
//! sees the method, the sub-path and the raw query, and answers `200` or `202`.
//!
//! The handler learns the sender only from the transfer, never from the message, so an app
//! can trust it as much as it trusts the DSP authentication that made the agreement.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tsunagu_core::{Asset, AssetContent, Role, TransferMode, TransferState};

use crate::dataplane::token_digest;
use crate::peer::ByteStream;
use crate::{Connector, EngineError, new_id, now_ms};

/// The largest message an inbox accepts. Inbox messages are small JSON documents; a larger
/// body is refused before it is buffered.
pub const MAX_INBOX_MESSAGE_BYTES: usize = 4 << 20;

/// The HTTP methods an inbox takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboxMethod {
    Get,
    Post,
    Put,
}

impl InboxMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxMethod::Get => "GET",
            InboxMethod::Post => "POST",
            InboxMethod::Put => "PUT",
        }
    }
}

impl std::fmt::Display for InboxMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a call reached an inbox: its method, the path below the data address (empty for a
/// message posted to the address itself, else starting with `/`) and the raw query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxCall {
    pub method: InboxMethod,
    pub path: String,
    pub query: Option<String>,
    pub media_type: Option<String>,
}

impl InboxCall {
    /// A message posted to the data address itself.
    pub fn post(media_type: Option<String>) -> InboxCall {
        InboxCall {
            method: InboxMethod::Post,
            path: String::new(),
            query: None,
            media_type,
        }
    }

    /// Refuses a sub-path that could mean something else to a proxy or a server: it must
    /// start with `/`, and have no empty, `.` or `..` segment, no `?`, `#` or `%2F`.
    pub fn check_path(path: &str) -> Result<(), EngineError> {
        if path.is_empty() {
            return Ok(());
        }
        let bad = |why: &str| EngineError::BadRequest(format!("the inbox path {path:?} {why}"));
        let Some(rest) = path.strip_prefix('/') else {
            return Err(bad("does not start with /"));
        };
        if path.contains(['?', '#', '\\']) || path.to_ascii_lowercase().contains("%2f") {
            return Err(bad("has a character a path may not have here"));
        }
        if rest
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        {
            return Err(bad("has an empty, . or .. segment"));
        }
        Ok(())
    }
}

/// What a handler answers to a call it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxReply {
    /// Done (`200`).
    Taken,
    /// Taken; the answer follows later by other means (`202`).
    Accepted,
}

/// One message a partner posted to an inbox asset, with who sent it.
#[derive(Debug, Clone)]
pub struct InboxMessage {
    pub asset_id: String,
    /// The participant id of the counter-party of the transfer (a DCP-verified DID): the
    /// only sender identity a handler may rely on.
    pub sender_id: String,
    pub agreement_id: String,
    pub transfer_id: String,
    pub method: InboxMethod,
    /// The path below the data address: empty, or starting with `/`.
    pub path: String,
    /// The raw (still percent-encoded) query string, if the call had one.
    pub query: Option<String>,
    pub media_type: Option<String>,
    pub body: Bytes,
}

/// Why a handler did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboxRefusal {
    /// The message is wrong for this receiver (malformed, not from the right partner); the
    /// text is meant for the sender, and sending the same message again will not help.
    #[error("{0}")]
    Refused(String),
    /// What the call names does not exist for this sender (`404`); the text is meant for
    /// the sender.
    #[error("{0}")]
    NotFound(String),
    /// The receiver could not take it now (its store failed); the sender may try again. The
    /// text is logged, never sent back.
    #[error("{0}")]
    Unavailable(String),
}

/// Receives the messages posted to one inbox asset. Registered by the app that owns the
/// asset with `Connector::register_inbox_handler`.
#[async_trait]
pub trait InboxHandler: Send + Sync + 'static {
    async fn on_message(&self, message: InboxMessage) -> Result<InboxReply, InboxRefusal>;
}

/// What the provider acknowledges for a posted message.
#[derive(Debug, Clone)]
pub struct InboxReceipt {
    pub transfer_id: String,
    pub bytes: u64,
    pub reply: InboxReply,
}

impl Connector {
    /// Creates an inbox asset (see the module documentation). Its contract definition is
    /// made as for any other asset.
    pub async fn create_inbox_asset(
        &self,
        id: Option<String>,
        properties: serde_json::Map<String, serde_json::Value>,
        media_type: String,
    ) -> Result<Asset, EngineError> {
        let asset = Asset {
            id: id.unwrap_or_else(new_id),
            properties,
            content: AssetContent::Inbox { media_type },
            created_at_ms: now_ms(),
        };
        self.store()
            .insert_asset(&asset)
            .await
            .map_err(|error| match error {
                tsunagu_store::StoreError::Duplicate(id) => EngineError::AlreadyExists(id),
                other => other.into(),
            })?;
        Ok(asset)
    }

    /// Makes `handler` receive the messages posted to the inbox asset `asset_id`, in this
    /// process. A later registration for the same asset replaces the earlier one.
    pub fn register_inbox_handler(&self, asset_id: &str, handler: Arc<dyn InboxHandler>) {
        self.inner
            .inbox_handlers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(asset_id.to_owned(), handler);
    }

    /// The handler registered for the inbox asset `asset_id` in this process, if any (to
    /// wrap it, for instance).
    pub fn inbox_handler(&self, asset_id: &str) -> Option<Arc<dyn InboxHandler>> {
        self.inner
            .inbox_handlers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(asset_id)
            .cloned()
    }

    /// Provider data plane: a message the bearer of a pull token posts to the inbox asset
    /// its transfer is for. Refused (as "not found") unless the transfer may be served and
    /// its asset is an inbox with a handler in this process.
    pub async fn receive_inbox_message(
        &self,
        token: &str,
        media_type: Option<String>,
        body: ByteStream,
    ) -> Result<InboxReceipt, EngineError> {
        self.receive_inbox_call(token, InboxCall::post(media_type), body)
            .await
    }

    /// Provider data plane: a call the bearer of a pull token makes on the inbox asset its
    /// transfer is for, or below its data address. Checked, handed over and logged as
    /// `receive_inbox_message` is; a refusal by the handler becomes
    /// `EngineError::BadRequest` or, for `InboxRefusal::NotFound`, `EngineError::Unknown`
    /// with the handler's text.
    pub async fn receive_inbox_call(
        &self,
        token: &str,
        call: InboxCall,
        mut body: ByteStream,
    ) -> Result<InboxReceipt, EngineError> {
        InboxCall::check_path(&call.path)?;
        let transfer = self
            .store()
            .transfer_by_token(&token_digest(token))
            .await?
            .filter(|t| t.role == Role::Provider && t.mode == TransferMode::Pull)
            .ok_or(EngineError::NotFound)?;
        if !transfer.may_serve(now_ms()) {
            return Err(EngineError::NotFound);
        }
        let asset = self
            .store()
            .asset(&transfer.dataset_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        if !matches!(asset.content, AssetContent::Inbox { .. }) {
            return Err(EngineError::NotFound);
        }
        let Some(handler) = self.inbox_handler(&asset.id) else {
            tracing::warn!(asset = %asset.id, "a message arrived for an inbox nobody handles");
            return Err(EngineError::NotFound);
        };
        self.check_agreement_policy(
            &transfer.counter_party_id,
            &transfer.counter_party_attributes,
            &transfer.agreement_id,
            Some(self.uses_of_agreement(&transfer.agreement_id).await?),
        )
        .await?;
        let mut buffer = BytesMut::new();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|error| {
                EngineError::BadRequest(format!("the upload broke off: {error}"))
            })?;
            if buffer.len() + piece.len() > MAX_INBOX_MESSAGE_BYTES {
                return Err(EngineError::BadRequest(format!(
                    "an inbox message may have at most {MAX_INBOX_MESSAGE_BYTES} bytes"
                )));
            }
            buffer.extend_from_slice(&piece);
        }
        let body = buffer.freeze();
        let sha256: [u8; 32] = Sha256::digest(&body).into();
        let bytes = body.len() as u64;
        let reply = handler
            .on_message(InboxMessage {
                asset_id: asset.id.clone(),
                sender_id: transfer.counter_party_id.clone(),
                agreement_id: transfer.agreement_id.clone(),
                transfer_id: transfer.id.clone(),
                method: call.method,
                path: call.path,
                query: call.query,
                media_type: call.media_type,
                body,
            })
            .await
            .map_err(|refusal| match refusal {
                InboxRefusal::Refused(reason) => EngineError::BadRequest(reason),
                InboxRefusal::NotFound(reason) => EngineError::Unknown(reason),
                InboxRefusal::Unavailable(reason) => EngineError::Internal(format!(
                    "the handler of inbox {} failed: {reason}",
                    asset.id
                )),
            })?;
        self.modify_transfer(&transfer.id, |t| {
            t.deliveries += 1;
            Ok(())
        })
        .await?;
        if let Some(ledger) = self.ledger() {
            ledger.delivered(
                tsunagu_ledger::entry::Direction::Received,
                &transfer.agreement_id,
                &transfer.id,
                sha256,
                bytes,
                None,
            );
        }
        Ok(InboxReceipt {
            transfer_id: transfer.id,
            bytes,
            reply,
        })
    }

    /// Consumer: posts `body` to the provider's inbox asset under started pull transfer
    /// `transfer_id`. A refusal by the provider or its app comes back as
    /// `EngineError::Peer(PeerError::Refused { .. })`.
    pub async fn send_to_inbox(
        &self,
        transfer_id: &str,
        media_type: Option<&str>,
        body: Bytes,
    ) -> Result<(), EngineError> {
        self.call_inbox(transfer_id, InboxMethod::Post, "", None, media_type, body)
            .await
            .map(|_| ())
    }

    /// Consumer: calls `method` on `path` (empty, or starting with `/`) below the data
    /// address of the provider's inbox asset under started pull transfer `transfer_id`, with
    /// the raw `query` (already percent-encoded) and `body`. Returns the provider's success
    /// status (`200` or `202`); a refusal comes back as
    /// `EngineError::Peer(PeerError::Refused { .. })`. The call is logged as a delivery.
    pub async fn call_inbox(
        &self,
        transfer_id: &str,
        method: InboxMethod,
        path: &str,
        query: Option<&str>,
        media_type: Option<&str>,
        body: Bytes,
    ) -> Result<u16, EngineError> {
        InboxCall::check_path(path)?;
        let transfer = self.transfer(transfer_id).await?;
        if transfer.role != Role::Consumer || transfer.mode != TransferMode::Pull {
            return Err(EngineError::BadRequest(
                "only a consumer's pull transfer can call an inbox".into(),
            ));
        }
        if transfer.state != TransferState::Started {
            return Err(EngineError::Conflict(format!(
                "transfer {transfer_id} is {}, not STARTED",
                transfer.state
            )));
        }
        let (Some(endpoint), Some(token)) = (&transfer.endpoint, &transfer.endpoint_token) else {
            return Err(EngineError::Conflict(
                "the provider has not given a data address yet".into(),
            ));
        };
        let mut url = format!("{}{path}", endpoint.trim_end_matches('/'));
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(query);
        }
        let sha256: [u8; 32] = Sha256::digest(&body).into();
        let bytes = body.len() as u64;
        let status = self
            .peer()
            .call_data_plane(&url, token, method, media_type, body)
            .await?;
        self.modify_transfer(transfer_id, |t| {
            t.deliveries += 1;
            Ok(())
        })
        .await?;
        if let Some(ledger) = self.ledger() {
            ledger.delivered(
                tsunagu_ledger::entry::Direction::Served,
                &transfer.agreement_id,
                &transfer.id,
                sha256,
                bytes,
                None,
            );
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::InboxCall;

    #[test]
    fn inbox_paths_that_could_mean_something_else_are_refused() {
        for good in ["", "/footprintExchange/9f1c", "/a/b-c_d.e"] {
            assert!(InboxCall::check_path(good).is_ok(), "{good}");
        }
        for bad in [
            "footprintExchange/1",
            "/",
            "//x",
            "/a//b",
            "/a/../b",
            "/./a",
            "/a?b=c",
            "/a#b",
            "/a%2Fb",
            "/a%2fb",
            "/a\\b",
        ] {
            assert!(InboxCall::check_path(bad).is_err(), "{bad}");
        }
    }
}
