//! The data plane: bytes move only under a started transfer whose agreement still holds.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tsunagu_core::{AssetContent, Role, TransferMode, TransferState};

use crate::peer::ByteStream;
use crate::{Connector, EngineError, now_ms};

/// A body on its way out, with what is known about it.
pub struct DataStream {
    pub media_type: Option<String>,
    pub size: Option<u64>,
    pub body: ByteStream,
    /// The SHA-256 (hex) of the bytes, when known before they are read (stored assets).
    pub sha256: Option<String>,
    /// The provider's JWS over the delivery (see `signatures`), when it signed.
    pub signature: Option<String>,
}

impl std::fmt::Debug for DataStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStream")
            .field("media_type", &self.media_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Bytes a provider pushed to this connector's inbox.
#[derive(Debug, Clone)]
pub struct PushDelivery {
    pub transfer_id: String,
    pub bytes: u64,
}

/// A new random bearer token (256 bits, URL-safe).
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored only as digests, so a copy of the database hands out no access.
pub(crate) fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The storage key under which pushed bytes received for a transfer are kept.
fn inbox_key(transfer_id: &str) -> String {
    format!("inbox:{transfer_id}")
}

/// A stream that checks, before each chunk, that its transfer may still be served, and ends
/// with an error as soon as it may not: a suspension or termination stops data at once, not
/// after the file.
///
/// The check runs once per chunk, never while a chunk is being read: a chunk read waiting
/// for the store must be the next thing polled, or a check queued behind it would keep the
/// stream from ever polling the read that holds the store's turn.
struct Guarded {
    inner: ByteStream,
    check: Pin<Box<dyn Stream<Item = bool> + Send>>,
    /// The check for the next chunk has passed; the chunk is being read.
    checked: bool,
    stopped: bool,
}

impl Stream for Guarded {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.stopped {
            return Poll::Ready(None);
        }
        if !self.checked {
            match self.check.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(true)) | Poll::Ready(None) => self.checked = true,
                Poll::Ready(Some(false)) => {
                    self.stopped = true;
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "the transfer was suspended or terminated",
                    ))));
                }
            }
        }
        let next = self.inner.as_mut().poll_next(cx);
        if next.is_ready() {
            self.checked = false;
        }
        next
    }
}

impl Connector {
    /// `body`, logging the SHA-256 of its exact bytes as a delivery once it has been read to
    /// its end (when the connector keeps a log).
    ///
    /// With `signed` (a provider's signature and the SHA-256 and length it states), the body
    /// must end with exactly those bytes, or it ends in an error and nothing is logged; the
    /// signature is logged with the delivery.
    pub(crate) fn logged_delivery(
        &self,
        body: ByteStream,
        expected_len: Option<u64>,
        direction: tsunagu_ledger::entry::Direction,
        agreement_id: &str,
        transfer_id: &str,
        signed: Option<(String, [u8; 32], u64)>,
    ) -> ByteStream {
        if self.ledger().is_none() && signed.is_none() {
            return body;
        }
        let connector = self.clone();
        let agreement_id = agreement_id.to_owned();
        let transfer_id = transfer_id.to_owned();
        let must_match = signed.as_ref().map(|(_, sha256, bytes)| (*sha256, *bytes));
        let signature = signed.map(|(jws, _, _)| jws);
        Box::pin(crate::ledger::Hashed {
            inner: body,
            hasher: Some(Sha256::new()),
            bytes: 0,
            expected_len,
            on_end: Some(Box::new(move |sha256, bytes| {
                if let Some(ledger) = connector.ledger() {
                    ledger.delivered(
                        direction,
                        &agreement_id,
                        &transfer_id,
                        sha256,
                        bytes,
                        signature,
                    );
                }
            })),
            must_match,
            mismatch: false,
        })
    }

    /// Streams an asset's bytes from where the provider keeps them.
    pub(crate) async fn open_asset(&self, asset_id: &str) -> Result<DataStream, EngineError> {
        let asset = self
            .store()
            .asset(asset_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        match asset.content {
            AssetContent::Stored {
                media_type,
                size,
                sha256,
            } => {
                let connector = self.clone();
                let id = asset.id.clone();
                let body = futures::stream::unfold(Some(0u32), move |seq| {
                    let connector = connector.clone();
                    let id = id.clone();
                    async move {
                        let seq = seq?;
                        match connector.store().asset_chunk(&id, seq).await {
                            Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), Some(seq + 1))),
                            Ok(None) => None,
                            // An error ends the stream after it is reported.
                            Err(error) => {
                                Some((Err(std::io::Error::other(error.to_string())), None))
                            }
                        }
                    }
                });
                Ok(DataStream {
                    media_type: Some(media_type),
                    size: Some(size),
                    body: Box::pin(body),
                    sha256: Some(sha256),
                    signature: None,
                })
            }
            // An inbox receives messages; it has nothing to serve.
            AssetContent::Inbox { .. } => Err(EngineError::NotFound),
            AssetContent::Http {
                url,
                media_type,
                auth_header,
            } => {
                let header = auth_header
                    .as_ref()
                    .map(|(name, value)| (name.as_str(), value.as_str()));
                let (remote_type, body) = self.peer().fetch_source(&url, header).await.map_err(|error| {
                    tracing::warn!(asset = asset_id, %error, "the asset's source system failed");
                    EngineError::Peer(error)
                })?;
                Ok(DataStream {
                    media_type: media_type.or(remote_type),
                    size: None,
                    body,
                    sha256: None,
                    signature: None,
                })
            }
        }
    }

    /// Provider data plane: serves the data of the transfer a bearer token was handed out
    /// for, while that transfer is started, its token fresh and its agreement's policy holds.
    pub async fn serve_pull(&self, token: &str) -> Result<DataStream, EngineError> {
        let digest = token_digest(token);
        let transfer = self
            .store()
            .transfer_by_token(&digest)
            .await?
            .filter(|t| t.role == Role::Provider && t.mode == TransferMode::Pull)
            .ok_or(EngineError::NotFound)?;
        if !transfer.may_serve(now_ms()) {
            return Err(EngineError::NotFound);
        }
        // The caller proved possession of the token; the policy is checked for the party the
        // token was issued to.
        self.check_agreement_policy(
            &transfer.counter_party_id,
            &transfer.counter_party_attributes,
            &transfer.agreement_id,
            Some(self.uses_of_agreement(&transfer.agreement_id).await?),
        )
        .await?;
        // Opened before the delivery is counted, so that a pull from an inbox asset (which
        // serves nothing) does not count as a use.
        let mut data = self.open_asset(&transfer.dataset_id).await?;
        let (transfer, ()) = self
            .modify_transfer(&transfer.id, |t| {
                t.deliveries += 1;
                Ok(())
            })
            .await?;
        let connector = self.clone();
        let transfer_id = transfer.id.clone();
        let check = futures::stream::unfold((), move |()| {
            let connector = connector.clone();
            let transfer_id = transfer_id.clone();
            async move {
                let still = matches!(
                    connector.store().transfer(&transfer_id).await,
                    Ok(Some(t)) if t.may_serve(now_ms())
                );
                Some((still, ()))
            }
        });
        let guarded: ByteStream = Box::pin(Guarded {
            inner: data.body,
            check: Box::pin(check),
            checked: false,
            stopped: false,
        });
        // Bytes whose digest is known before they leave are signed (stored assets).
        if let (Some(sha256), Some(size)) = (&data.sha256, data.size) {
            data.signature = self.sign_delivery(&transfer, sha256, size)?;
        }
        data.body = self.logged_delivery(
            guarded,
            data.size,
            tsunagu_ledger::entry::Direction::Served,
            &transfer.agreement_id,
            &transfer.id,
            None,
        );
        Ok(data)
    }

    /// Consumer: fetches the data of a started pull transfer from the provider.
    pub async fn pull_data(&self, transfer_id: &str) -> Result<DataStream, EngineError> {
        let transfer = self.transfer(transfer_id).await?;
        if transfer.role != Role::Consumer || transfer.mode != TransferMode::Pull {
            return Err(EngineError::BadRequest(
                "only a consumer's pull transfer can be fetched".into(),
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
        let (media_type, signature, body) = self.peer().pull_signed(endpoint, token).await?;
        let signed = match signature {
            Some(jws) => self.check_delivery_signature(&transfer, jws).await?,
            None => None,
        };
        self.modify_transfer(transfer_id, |t| {
            t.deliveries += 1;
            Ok(())
        })
        .await?;
        let sha256 = signed
            .as_ref()
            .map(|(_, digest, _)| digest.iter().map(|b| format!("{b:02x}")).collect());
        let signature = signed.as_ref().map(|(jws, _, _)| jws.clone());
        Ok(DataStream {
            media_type,
            size: None,
            body: self.logged_delivery(
                body,
                None,
                tsunagu_ledger::entry::Direction::Received,
                &transfer.agreement_id,
                &transfer.id,
                signed,
            ),
            sha256,
            signature,
        })
    }

    /// Consumer data plane: accepts bytes a provider pushes for transfer `transfer_id`.
    pub async fn receive_push(
        &self,
        transfer_id: &str,
        token: &str,
        mut body: ByteStream,
    ) -> Result<PushDelivery, EngineError> {
        let transfer = self
            .store()
            .transfer(transfer_id)
            .await?
            .filter(|t| t.role == Role::Consumer && t.mode == TransferMode::Push)
            .filter(|t| t.token_sha256.as_deref() == Some(token_digest(token).as_str()))
            .ok_or(EngineError::NotFound)?;
        if transfer.state.is_terminal() {
            return Err(EngineError::NotFound);
        }
        let key = inbox_key(&transfer.id);
        self.store().delete_asset_chunks(&key).await?;
        let chunk_size = self.settings().chunk_size;
        let mut buffer: Vec<u8> = Vec::with_capacity(chunk_size);
        let mut seq = 0u32;
        let mut total = 0u64;
        let mut digest = Sha256::new();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|error| {
                EngineError::BadRequest(format!("the upload broke off: {error}"))
            })?;
            total += piece.len() as u64;
            digest.update(&piece);
            let mut rest: &[u8] = &piece;
            while !rest.is_empty() {
                let room = chunk_size - buffer.len();
                let take = room.min(rest.len());
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buffer.len() == chunk_size {
                    self.store().put_asset_chunk(&key, seq, &buffer).await?;
                    seq += 1;
                    buffer.clear();
                }
            }
        }
        if !buffer.is_empty() {
            self.store().put_asset_chunk(&key, seq, &buffer).await?;
        }
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
                digest.finalize().into(),
                total,
                None,
            );
        }
        Ok(PushDelivery {
            transfer_id: transfer.id,
            bytes: total,
        })
    }

    /// Consumer: the bytes a provider pushed for a transfer.
    pub async fn received_data(&self, transfer_id: &str) -> Result<DataStream, EngineError> {
        let transfer = self.transfer(transfer_id).await?;
        if transfer.role != Role::Consumer || transfer.mode != TransferMode::Push {
            return Err(EngineError::BadRequest(
                "only a consumer's push transfer has received data".into(),
            ));
        }
        if transfer.deliveries == 0 {
            return Err(EngineError::Conflict(
                "nothing has been delivered yet".into(),
            ));
        }
        let connector = self.clone();
        let key = inbox_key(transfer_id);
        let body = futures::stream::unfold(Some(0u32), move |seq| {
            let connector = connector.clone();
            let key = key.clone();
            async move {
                let seq = seq?;
                match connector.store().asset_chunk(&key, seq).await {
                    Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), Some(seq + 1))),
                    Ok(None) => None,
                    Err(error) => Some((Err(std::io::Error::other(error.to_string())), None)),
                }
            }
        });
        Ok(DataStream {
            media_type: None,
            size: None,
            body: Box::pin(body),
            sha256: None,
            signature: None,
        })
    }
}
