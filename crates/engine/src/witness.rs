//! Witnessing between partners (issue "Provable history"): when two connectors deal with each
//! other, each asks the other to cosign its latest checkpoint, and each keeps what it cosigned.
//! A partner cosigns only a checkpoint that extends the one it cosigned before (a consistency
//! proof shows it), so a connector that later forks or rewrites its log is caught by every
//! partner that holds an older checkpoint: the partner refuses, and records an alarm with both
//! signed checkpoints as evidence.
//!
//! The messages are the C2SP tlog-witness `add-checkpoint` request and its answer, sent to the
//! partner's DSP address under the same authentication as every DSP message. The witness checks
//! that the checkpoint's origin is the authenticated caller and that it is signed with one of
//! the caller's keys as its DID document lists them ([`PartyKeys`]). Without a way to learn
//! partners' keys (development identities), there is no witnessing.
//!
//! What is kept, per partner, in the connector's document store: the partner's checkpoint we
//! cosigned last ([`WITNESSED`]), our checkpoint the partner cosigned last ([`COSIGNED`]), and a
//! journal of refusals ([`ALARMS`]). A received cosignature is also logged as an entry of our
//! own log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tsunagu_ledger::entry::{CosignatureReceipt, LogEntry};
use tsunagu_ledger::{
    AddCheckpoint, Checkpoint, Cosigner, LedgerError, Note, SignatureType, Verifier, Witness,
    WitnessedCheckpoint,
};
use tsunagu_store::{Page, StoreError};

use crate::{Connector, EngineError, VerifiedCaller, now_ms};

/// Partners' checkpoints this connector cosigned, by partner id.
pub const WITNESSED: &str = "ledger.witnessed";
/// This connector's checkpoints partners cosigned, by partner id.
pub const COSIGNED: &str = "ledger.cosigned";
/// Checkpoints this connector refused to cosign because they did not extend what it held.
pub const ALARMS: &str = "ledger.witness-alarms";

/// How long after a partner's last state change the exchange waits, so that the log has
/// appended the change (its batch window is shorter).
const SETTLE: Duration = Duration::from_millis(100);
/// Partners whose exchange is pending at once; beyond, new partners wait for the next change.
const MAX_PENDING: usize = 10_000;

/// Where the public keys of partners come from: their DID documents, through the identity
/// layer.
#[async_trait]
pub trait PartyKeys: Send + Sync + 'static {
    /// The Ed25519 public keys `participant_id` may sign with (all its current verification
    /// keys). An error means they could not be learnt now.
    async fn ed25519_keys(&self, participant_id: &str) -> Result<Vec<[u8; 32]>, String>;
}

/// Why a witness did not cosign. Each maps to the status tlog-witness gives it.
#[derive(Debug, thiserror::Error)]
pub enum WitnessRefusal {
    /// 404: this connector keeps no log, or cannot learn partners' keys.
    #[error("this connector does not witness checkpoints")]
    NotWitnessing,
    /// 400: the request is malformed.
    #[error("{0}")]
    Malformed(String),
    /// 403: the checkpoint is not the caller's, or not signed by one of its keys.
    #[error("{0}")]
    Unverified(String),
    /// 409: the witness holds a checkpoint of another size; retry with a proof from this one.
    #[error("the witness holds a checkpoint of size {0}")]
    HeldSize(u64),
    /// 422: the checkpoint does not extend the one the witness holds (a fork, a rollback or a
    /// wrong proof). An alarm was recorded.
    #[error("{0}")]
    Inconsistent(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A witness's answer to `add-checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddCheckpointAnswer {
    /// The cosignature lines.
    Cosigned(String),
    /// The witness holds a checkpoint of this size (409).
    HeldSize(u64),
}

/// One partner's checkpoint we cosigned, or one of ours a partner cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldCheckpoint {
    pub partner: String,
    pub size: u64,
    /// The signed note, with the cosignature.
    pub note: String,
    pub at_ms: i64,
}

/// A refusal to cosign, with both checkpoints as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessAlarm {
    pub partner: String,
    /// The checkpoint we held (signed by the partner).
    pub held: String,
    /// The checkpoint offered that does not extend it (signed by the partner).
    pub offered: String,
    pub reason: String,
    pub at_ms: i64,
}

/// The queue of partners to exchange checkpoints with.
pub(crate) struct Exchanges {
    sender: mpsc::UnboundedSender<(String, String)>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<(String, String)>>>,
}

impl Exchanges {
    pub(crate) fn new() -> Exchanges {
        let (sender, receiver) = mpsc::unbounded_channel();
        Exchanges {
            sender,
            receiver: std::sync::Mutex::new(Some(receiver)),
        }
    }
}

fn ledger_error(error: LedgerError) -> WitnessRefusal {
    WitnessRefusal::Malformed(error.to_string())
}

impl Connector {
    pub(crate) fn cosigner(&self) -> Option<&Cosigner> {
        self.inner
            .settings
            .ledger
            .as_ref()
            .and_then(|settings| settings.cosigner.as_ref())
    }

    /// Lets this connector learn partners' keys, which turns witnessing on.
    pub fn set_party_keys(&self, keys: Arc<dyn PartyKeys>) {
        *self.inner.party_keys.write().expect("party keys lock") = Some(keys);
    }

    fn party_keys(&self) -> Option<Arc<dyn PartyKeys>> {
        self.inner
            .party_keys
            .read()
            .expect("party keys lock")
            .clone()
    }

    fn witnessing(&self) -> bool {
        self.ledger().is_some() && self.cosigner().is_some() && self.party_keys().is_some()
    }

    /// The verifiers of `partner`'s Ed25519 keys (from its DID document), for its log
    /// (`SignatureType::Ed25519`) or its cosignatures (`CosignatureV1`).
    pub(crate) async fn partner_verifiers(
        &self,
        partner: &str,
        signature_type: SignatureType,
    ) -> Result<Vec<Verifier>, String> {
        let keys = self
            .party_keys()
            .ok_or("this connector cannot learn partners' keys (no DIDs)")?;
        let keys = keys
            .ed25519_keys(partner)
            .await
            .map_err(|error| format!("the keys of {partner} are unknown: {error}"))?;
        keys.iter()
            .filter_map(|key| ed25519_dalek::VerifyingKey::from_bytes(key).ok())
            .map(|key| Verifier::new(partner, signature_type, key).map_err(|e| e.to_string()))
            .collect()
    }

    /// `add-checkpoint` from `caller`: cosigns the caller's checkpoint if it is the caller's,
    /// signed by one of its keys, and extends the checkpoint of the caller held here.
    pub async fn witness_add_checkpoint(
        &self,
        caller: &VerifiedCaller,
        body: &str,
    ) -> Result<String, WitnessRefusal> {
        if !self.witnessing() {
            return Err(WitnessRefusal::NotWitnessing);
        }
        let cosigner = self
            .cosigner()
            .ok_or(WitnessRefusal::NotWitnessing)?
            .clone();
        let request = AddCheckpoint::parse(body).map_err(ledger_error)?;
        let partner = caller.participant_id();
        let offered = Checkpoint::parse(request.checkpoint.text()).map_err(ledger_error)?;
        if offered.origin() != partner {
            return Err(WitnessRefusal::Unverified(format!(
                "the checkpoint is of log {:?}, not of the caller's",
                offered.origin()
            )));
        }
        let verifiers = self
            .partner_verifiers(partner, SignatureType::Ed25519)
            .await
            .map_err(WitnessRefusal::Unverified)?;
        let verified = request
            .checkpoint
            .verify(&verifiers)
            .map_err(|error| WitnessRefusal::Unverified(error.to_string()))?;
        let log = verifiers
            .iter()
            .find(|verifier| verified.is_signed_by(verifier))
            .ok_or_else(|| WitnessRefusal::Unverified("not signed by the caller's key".into()))?
            .clone();

        let store = self.store();
        let document = store
            .document(WITNESSED, partner)
            .await
            .map_err(EngineError::from)?;
        let held = match &document {
            Some(document) => Some(
                serde_json::from_value::<HeldCheckpoint>(document.body.clone())
                    .map_err(|error| EngineError::Internal(format!("held checkpoint: {error}")))?,
            ),
            None => None,
        };
        let held_size = held.as_ref().map_or(0, |held| held.size);
        // A checkpoint no larger than the held one is checked whatever `old` says: a smaller
        // one is a rollback and one of the same size with another root a fork, and the caller
        // must not be able to avoid the alarm by naming another old size.
        if request.old_size != held_size && offered.size() > held_size {
            return Err(WitnessRefusal::HeldSize(held_size));
        }
        let mut witness = match &held {
            Some(held) => {
                let note = Note::parse(&held.note).map_err(|error| {
                    EngineError::Internal(format!("held checkpoint note: {error}"))
                })?;
                let checkpoint = Checkpoint::parse(note.text())
                    .map_err(|error| EngineError::Internal(format!("held checkpoint: {error}")))?;
                Witness::resume(cosigner, log, checkpoint)
            }
            None => Witness::new(cosigner, log),
        };
        let now = now_ms();
        let signature = match witness.cosign(&request.checkpoint, &request.proof, unix_seconds(now))
        {
            Ok(signature) => signature,
            Err(error) => {
                let reason = error.to_string();
                if let Some(held) = &held {
                    self.raise_alarm(
                        partner,
                        &held.note,
                        &request.checkpoint.to_string(),
                        &reason,
                    )
                    .await;
                }
                return Err(WitnessRefusal::Inconsistent(reason));
            }
        };
        let mut cosigned = request.checkpoint.clone();
        cosigned.add_signature(signature.clone());
        let body = serde_json::to_value(HeldCheckpoint {
            partner: partner.to_owned(),
            size: offered.size(),
            note: cosigned.to_string(),
            at_ms: now,
        })
        .map_err(|error| EngineError::Internal(error.to_string()))?;
        let saved = match &document {
            Some(document) => store
                .update_document(WITNESSED, partner, document.version, None, &body, now)
                .await
                .map(|_| ()),
            None => {
                store
                    .insert_document(WITNESSED, partner, None, &body, now)
                    .await
            }
        };
        match saved {
            Ok(()) => Ok(signature.to_string()),
            // Another request from the same partner got there first: it decides the held size.
            Err(StoreError::Conflict(_) | StoreError::Duplicate(_)) => {
                let current = store
                    .document(WITNESSED, partner)
                    .await
                    .map_err(EngineError::from)?
                    .and_then(|document| document.body.get("size").and_then(|s| s.as_u64()))
                    .unwrap_or(0);
                Err(WitnessRefusal::HeldSize(current))
            }
            Err(other) => Err(EngineError::from(other).into()),
        }
    }

    async fn raise_alarm(&self, partner: &str, held: &str, offered: &str, reason: &str) {
        tracing::error!(
            partner,
            reason,
            "a partner's transaction log does not extend the checkpoint this connector cosigned: its history was forked or rewritten"
        );
        let alarm = WitnessAlarm {
            partner: partner.to_owned(),
            held: held.to_owned(),
            offered: offered.to_owned(),
            reason: reason.to_owned(),
            at_ms: now_ms(),
        };
        let body = serde_json::to_value(&alarm).expect("alarms serialize");
        if let Err(error) = self
            .store()
            .append_journal(ALARMS, &body, alarm.at_ms)
            .await
        {
            tracing::error!(%error, partner, "the witness alarm could not be stored");
        }
    }

    /// Asks `partner` (reached at its DSP or callback `address`) to cosign our latest
    /// checkpoint; keeps and logs its cosignature. Returns the cosigned size, or `None` when
    /// there was nothing new to cosign.
    pub async fn exchange_checkpoint(
        &self,
        partner: &str,
        address: &str,
    ) -> Result<Option<u64>, EngineError> {
        let ledger = self.ledger().ok_or(EngineError::NotFound)?;
        let Some(note_text) = ledger.checkpoint().await else {
            return Ok(None);
        };
        let note = Note::parse(&note_text)
            .map_err(|error| EngineError::Internal(format!("own checkpoint: {error}")))?;
        let size = Checkpoint::parse(note.text())
            .map_err(|error| EngineError::Internal(format!("own checkpoint: {error}")))?
            .size();
        let store = self.store();
        let document = store.document(COSIGNED, partner).await?;
        let mut old = match &document {
            Some(document) => document
                .body
                .get("size")
                .and_then(|s| s.as_u64())
                .unwrap_or(0),
            None => 0,
        };
        if old == size && document.is_some() {
            return Ok(None);
        }
        let own = self.own_identity();
        // One retry: a witness that holds another size says which.
        for _ in 0..2 {
            let proof = if old == 0 || old >= size {
                Vec::new()
            } else {
                ledger.consistency_hashes(old, size).await?
            };
            let request = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: note.clone(),
            };
            match self
                .peer()
                .add_checkpoint(&own, partner, address, request.encode())
                .await?
            {
                AddCheckpointAnswer::HeldSize(held) if held != old && held <= size => old = held,
                AddCheckpointAnswer::HeldSize(held) => {
                    return Err(EngineError::Conflict(format!(
                        "{partner} holds a checkpoint of size {held}, ours has {size}"
                    )));
                }
                AddCheckpointAnswer::Cosigned(lines) => {
                    return self
                        .keep_cosignature(partner, &note, size, &lines, document.map(|d| d.version))
                        .await
                        .map(Some);
                }
            }
        }
        Err(EngineError::Conflict(format!(
            "{partner} keeps changing the size of the checkpoint it holds"
        )))
    }

    async fn keep_cosignature(
        &self,
        partner: &str,
        note: &Note,
        size: u64,
        lines: &str,
        version: Option<i64>,
    ) -> Result<u64, EngineError> {
        let invalid = |error: String| {
            EngineError::Peer(crate::PeerError::InvalidAnswer(format!(
                "cosignature from {partner}: {error}"
            )))
        };
        let signatures =
            Note::parse_signature_lines(lines).map_err(|error| invalid(error.to_string()))?;
        let mut cosigned = note.clone();
        for signature in signatures {
            cosigned.add_signature(signature);
        }
        let verifiers = match self
            .partner_verifiers(partner, SignatureType::CosignatureV1)
            .await
        {
            Ok(verifiers) => verifiers,
            Err(error) => return Err(invalid(error)),
        };
        let witnessed = WitnessedCheckpoint::verify(&cosigned, &verifiers)
            .map_err(|error| invalid(error.to_string()))?;
        let now = now_ms();
        let body = serde_json::to_value(HeldCheckpoint {
            partner: partner.to_owned(),
            size,
            note: cosigned.to_string(),
            at_ms: now,
        })
        .map_err(|error| EngineError::Internal(error.to_string()))?;
        let store = self.store();
        match version {
            Some(version) => {
                store
                    .update_document(COSIGNED, partner, version, None, &body, now)
                    .await?;
            }
            None => {
                store
                    .insert_document(COSIGNED, partner, None, &body, now)
                    .await?
            }
        }
        if let Some(ledger) = self.ledger() {
            ledger.record_entry(LogEntry::CosignatureReceived(CosignatureReceipt {
                partner: partner.to_owned(),
                origin: witnessed.checkpoint().origin().to_owned(),
                size,
                root: *witnessed.checkpoint().root(),
                at_unix_ms: now as u64,
            }));
        }
        Ok(size)
    }

    /// Our checkpoints partners cosigned, the latest per partner.
    pub async fn cosigned_checkpoints(&self) -> Result<Vec<HeldCheckpoint>, EngineError> {
        self.held(COSIGNED).await
    }

    /// Partners' checkpoints we cosigned, the latest per partner.
    pub async fn witnessed_checkpoints(&self) -> Result<Vec<HeldCheckpoint>, EngineError> {
        self.held(WITNESSED).await
    }

    async fn held(&self, collection: &str) -> Result<Vec<HeldCheckpoint>, EngineError> {
        self.ledger().ok_or(EngineError::NotFound)?;
        self.store()
            .documents(collection, Page::ALL)
            .await?
            .into_iter()
            .map(|document| {
                serde_json::from_value(document.body)
                    .map_err(|error| EngineError::Internal(format!("{collection}: {error}")))
            })
            .collect()
    }

    /// Checkpoints this connector refused to cosign, oldest first.
    pub async fn witness_alarms(&self) -> Result<Vec<WitnessAlarm>, EngineError> {
        self.ledger().ok_or(EngineError::NotFound)?;
        self.store()
            .journal(ALARMS, 0, 10_000)
            .await?
            .into_iter()
            .map(|entry| {
                serde_json::from_value(entry.body)
                    .map_err(|error| EngineError::Internal(format!("{ALARMS}: {error}")))
            })
            .collect()
    }

    /// Notes that we dealt with `partner`: an exchange of checkpoints follows shortly.
    pub(crate) fn dealt_with(&self, partner: &str, address: &str) {
        if let Some(exchanges) = &self.inner.exchanges
            && self.witnessing()
        {
            let _ = exchanges
                .sender
                .send((partner.to_owned(), address.to_owned()));
        }
    }

    /// Exchanges checkpoints with the partners dealt with, each at most once per
    /// `witness_interval`, until the connector stops.
    pub(crate) async fn run_exchanges(self) {
        let Some(exchanges) = self.inner.exchanges.as_ref() else {
            return;
        };
        let Some(mut receiver) = exchanges.receiver.lock().expect("exchange lock").take() else {
            return;
        };
        let interval = self.settings().witness_interval;
        // Per partner: its address, when it is due, when it was last sent to.
        let mut pending: HashMap<String, (String, Instant)> = HashMap::new();
        let mut last: HashMap<String, Instant> = HashMap::new();
        loop {
            let next_due = pending.values().map(|(_, due)| *due).min();
            let wait = async {
                match next_due {
                    Some(due) => tokio::time::sleep_until(due.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = receiver.recv() => {
                    let Some((partner, address)) = message else { return };
                    if pending.len() >= MAX_PENDING && !pending.contains_key(&partner) {
                        continue;
                    }
                    let earliest = last
                        .get(&partner)
                        .map_or_else(Instant::now, |sent| *sent + interval)
                        .max(Instant::now() + SETTLE);
                    pending
                        .entry(partner)
                        .and_modify(|(known, _)| *known = address.clone())
                        .or_insert((address, earliest));
                }
                () = wait => {
                    let now = Instant::now();
                    let due: Vec<String> = pending
                        .iter()
                        .filter(|(_, (_, due))| *due <= now)
                        .map(|(partner, _)| partner.clone())
                        .collect();
                    for partner in due {
                        let Some((address, _)) = pending.remove(&partner) else { continue };
                        last.insert(partner.clone(), Instant::now());
                        if last.len() > MAX_PENDING {
                            last.retain(|_, sent| sent.elapsed() < interval);
                        }
                        let connector = self.clone();
                        tokio::spawn(async move {
                            match connector.exchange_checkpoint(&partner, &address).await {
                                Ok(Some(size)) => tracing::debug!(partner, size, "partner cosigned our checkpoint"),
                                Ok(None) => {}
                                Err(error) => tracing::warn!(partner, %error, "checkpoint exchange failed"),
                            }
                        });
                    }
                }
            }
        }
    }
}

fn unix_seconds(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}
