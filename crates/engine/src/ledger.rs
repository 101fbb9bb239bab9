//! The connector's transaction log (issue "Provable history"): every protocol event (a
//! negotiation or transfer changing state, an agreement concluded, data served or received
//! with the SHA-256 of its exact bytes) becomes an entry of an RFC 9162 Merkle tree, and every
//! batch of entries ends with a checkpoint signed with the connector's key.
//!
//! Events are queued in memory and appended by one task in batches, so appending never holds
//! up a protocol message. The cost is a small window: events queued in the last moments
//! before a crash (one batch, milliseconds) are not in the log when the process stops,
//! although the state changes they record are durable. On start the tree is rebuilt from the
//! stored entries and checked against the last signed checkpoint (a mismatch is reported
//! loudly, because it means the stored log was altered), and every negotiation, transfer and
//! agreement whose stored state the log lacks is logged then, dated when the record last
//! changed. What cannot be recovered is the digest of bytes delivered in that window.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tokio::sync::{RwLock, mpsc};
use tsunagu_ledger::entry::{
    Agreement as AgreementEntry, DataDelivery, Direction, LogEntry, NegotiationStateChange,
    TransferStateChange,
};
use tsunagu_ledger::{Checkpoint, Hash, MemoryTree, NoteSigner};
use tsunagu_store::{LedgerRow, Store, StoreError};

use crate::{EngineError, now_ms};

/// What the connector needs to keep a log.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// The checkpoint origin line (the log's name), e.g. the connector's DID.
    pub origin: String,
    /// Signs checkpoints with the connector's key.
    pub signer: NoteSigner,
    /// Cosigns partners' checkpoints (see `witness`), named by the participant id. `None`:
    /// this connector neither witnesses nor asks partners to.
    pub cosigner: Option<tsunagu_ledger::Cosigner>,
}

/// Processes whose last logged state is remembered.
const MAX_TRACKED_PROCESSES: usize = 100_000;
/// How long the appender gathers entries before it writes them.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(20);
/// Most entries appended in one write.
const MAX_BATCH: usize = 4096;
/// Stored entries read per query when the tree is rebuilt.
const LOAD_PAGE: u32 = 10_000;

pub(crate) struct Ledger {
    settings: LedgerSettings,
    sender: mpsc::UnboundedSender<LogEntry>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<LogEntry>>>,
    state: RwLock<LedgerState>,
    /// The state last logged per process, so that a save without a state change logs nothing
    /// and each entry can say where the process came from.
    last_states: Mutex<HashMap<String, String>>,
}

struct LedgerState {
    tree: MemoryTree,
    checkpoint: Option<String>,
}

/// A proof for the management API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerProof {
    pub size: u64,
    pub root: String,
    pub hashes: Vec<String>,
}

/// One stored entry, for the management API and auditors.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntryView {
    pub index: u64,
    pub at_ms: i64,
    /// The entry's canonical bytes, as text (they are JSON).
    pub entry: String,
    pub leaf_hash: String,
}

fn sha256_hash(bytes: &[u8]) -> Hash {
    Hash::from_bytes(Sha256::digest(bytes).into())
}

fn negotiation_entry(
    negotiation: &tsunagu_core::Negotiation,
    from: Option<String>,
    at: u64,
) -> LogEntry {
    LogEntry::NegotiationStateChanged(NegotiationStateChange {
        negotiation_id: negotiation.id.clone(),
        consumer_pid: negotiation.consumer_pid.clone(),
        provider_pid: negotiation.provider_pid.clone(),
        counter_party: negotiation.counter_party_id.clone(),
        from,
        to: negotiation.state.to_string(),
        at_unix_ms: at,
    })
}

fn agreement_entry(agreement: &tsunagu_core::Agreement, at: u64) -> LogEntry {
    let policy = serde_json::to_vec(&agreement.policy).unwrap_or_default();
    LogEntry::AgreementConcluded(AgreementEntry {
        agreement_id: agreement.id.clone(),
        provider: agreement.provider_id.clone(),
        consumer: agreement.consumer_id.clone(),
        asset: agreement.dataset_id.clone(),
        policy_sha256: sha256_hash(&policy),
        at_unix_ms: at,
    })
}

fn transfer_entry(transfer: &tsunagu_core::Transfer, from: Option<String>, at: u64) -> LogEntry {
    LogEntry::TransferStateChanged(TransferStateChange {
        transfer_id: transfer.id.clone(),
        consumer_pid: transfer.consumer_pid.clone(),
        provider_pid: transfer.provider_pid.clone(),
        agreement_id: transfer.agreement_id.clone(),
        counter_party: transfer.counter_party_id.clone(),
        from,
        to: transfer.state.to_string(),
        at_unix_ms: at,
    })
}

impl Ledger {
    pub(crate) fn new(settings: LedgerSettings) -> Ledger {
        let (sender, receiver) = mpsc::unbounded_channel();
        Ledger {
            settings,
            sender,
            receiver: Mutex::new(Some(receiver)),
            state: RwLock::new(LedgerState {
                tree: MemoryTree::new(),
                checkpoint: None,
            }),
            last_states: Mutex::new(HashMap::new()),
        }
    }

    fn record(&self, entry: LogEntry) {
        // The receiver lives as long as the connector's workers; after they stop there is
        // nobody left to record for.
        let _ = self.sender.send(entry);
    }

    /// Returns the previous logged state if `state` differs from it (or nothing was logged).
    fn transition(&self, id: &str, state: &str) -> Option<Option<String>> {
        let mut last = self.last_states.lock().expect("ledger lock");
        let previous = last.get(id).cloned();
        if previous.as_deref() == Some(state) {
            return None;
        }
        // Bounded memory: past this many processes the map starts afresh, at the price of a
        // repeated entry (with no `from`) for a process that is saved again unchanged.
        if last.len() >= MAX_TRACKED_PROCESSES {
            last.clear();
        }
        last.insert(id.to_owned(), state.to_owned());
        Some(previous)
    }

    pub(crate) fn negotiation_changed(&self, negotiation: &tsunagu_core::Negotiation) {
        let state = negotiation.state.to_string();
        let Some(from) = self.transition(&negotiation.id, &state) else {
            return;
        };
        let at = now_ms() as u64;
        self.record(negotiation_entry(negotiation, from, at));
        if let Some(agreement) = &negotiation.agreement {
            let key = format!("agreement:{}", agreement.id);
            if self.transition(&key, "concluded").is_some() {
                self.record(agreement_entry(agreement, at));
            }
        }
    }

    pub(crate) fn transfer_changed(&self, transfer: &tsunagu_core::Transfer) {
        let state = transfer.state.to_string();
        let Some(from) = self.transition(&transfer.id, &state) else {
            return;
        };
        self.record(transfer_entry(transfer, from, now_ms() as u64));
    }

    pub(crate) fn delivered(
        &self,
        direction: Direction,
        agreement_id: &str,
        transfer_id: &str,
        sha256: [u8; 32],
        bytes: u64,
        signature: Option<String>,
    ) {
        self.record(LogEntry::DataDelivered(DataDelivery {
            direction,
            agreement_id: agreement_id.to_owned(),
            transfer_id: transfer_id.to_owned(),
            sha256: Hash::from_bytes(sha256),
            bytes,
            at_unix_ms: now_ms() as u64,
            signature,
        }));
    }

    /// Rebuilds the tree from storage, then appends queued entries in batches until the
    /// connector stops.
    pub(crate) async fn run(&self, store: &dyn Store) {
        let Some(mut receiver) = self.receiver.lock().expect("ledger lock").take() else {
            return;
        };
        if let Err(error) = self.load(store).await {
            tracing::error!(%error, "the transaction log cannot be loaded; no entries are appended");
            return;
        }
        let mut batch = Vec::new();
        while let Some(first) = receiver.recv().await {
            batch.push(first);
            // Gather what arrives within a short window, so that a busy connector writes a
            // few large batches rather than many small ones that each take the write lock.
            let window = tokio::time::sleep(BATCH_WINDOW);
            tokio::pin!(window);
            while batch.len() < MAX_BATCH {
                tokio::select! {
                    entry = receiver.recv() => match entry {
                        Some(entry) => batch.push(entry),
                        None => break,
                    },
                    () = &mut window => break,
                }
            }
            if let Err(error) = self.append(store, &batch).await {
                tracing::error!(%error, entries = batch.len(), "entries could not be appended to the transaction log");
            }
            batch.clear();
        }
    }

    async fn load(&self, store: &dyn Store) -> Result<(), EngineError> {
        let mut state = self.state.write().await;
        self.catch_up(store, &mut state).await?;
        if let Some((size, note)) = store.latest_ledger_checkpoint().await? {
            let text = note
                .split("\n\n")
                .next()
                .map(|body| format!("{body}\n"))
                .unwrap_or_default();
            match Checkpoint::parse(&text) {
                Ok(checkpoint)
                    if checkpoint.size() == size
                        && size <= state.tree.size()
                        && state.tree.root_at(size).ok().as_ref() == Some(checkpoint.root()) => {}
                _ => tracing::error!(
                    size,
                    "the stored transaction log does not match its last signed checkpoint: entries were altered or removed"
                ),
            }
            state.checkpoint = Some(note);
        }
        drop(state);
        self.reconcile(store).await
    }

    /// Logs the state changes that were saved but not logged because the process stopped
    /// before its last batch was appended (the window of one batch): every negotiation,
    /// transfer and agreement whose stored state differs from the last one the log holds gets
    /// the missing entry now, dated when the record last changed.
    async fn reconcile(&self, store: &dyn Store) -> Result<(), EngineError> {
        let mut logged: HashMap<String, String> = HashMap::new();
        let mut from = 0;
        loop {
            let rows = store.ledger_rows(from, LOAD_PAGE).await?;
            let Some((last, _)) = rows.last() else { break };
            from = last + 1;
            for (_, row) in rows {
                match LogEntry::decode(&row.entry) {
                    Ok(LogEntry::NegotiationStateChanged(change)) => {
                        logged.insert(change.negotiation_id, change.to);
                    }
                    Ok(LogEntry::TransferStateChanged(change)) => {
                        logged.insert(change.transfer_id, change.to);
                    }
                    Ok(LogEntry::AgreementConcluded(agreement)) => {
                        logged.insert(
                            format!("agreement:{}", agreement.agreement_id),
                            "concluded".into(),
                        );
                    }
                    _ => {}
                }
            }
        }
        let mut recovered = 0usize;
        let mut now_logged: Vec<(String, String)> = Vec::new();
        let page = |offset: u32| tsunagu_store::Page {
            offset,
            limit: 1000,
        };
        let mut offset = 0;
        loop {
            let negotiations = store.negotiations(page(offset)).await?;
            if negotiations.is_empty() {
                break;
            }
            offset += negotiations.len() as u32;
            for negotiation in negotiations {
                let state = negotiation.state.to_string();
                let previous = logged.get(&negotiation.id);
                if previous != Some(&state) {
                    recovered += 1;
                    self.record(negotiation_entry(
                        &negotiation,
                        previous.cloned(),
                        negotiation.updated_at_ms as u64,
                    ));
                    now_logged.push((negotiation.id.clone(), state));
                }
                if let Some(agreement) = &negotiation.agreement
                    && !logged.contains_key(&format!("agreement:{}", agreement.id))
                    && matches!(
                        negotiation.state,
                        tsunagu_core::NegotiationState::Agreed
                            | tsunagu_core::NegotiationState::Verified
                            | tsunagu_core::NegotiationState::Finalized
                    )
                {
                    recovered += 1;
                    self.record(agreement_entry(agreement, negotiation.updated_at_ms as u64));
                    now_logged.push((format!("agreement:{}", agreement.id), "concluded".into()));
                }
            }
        }
        let mut offset = 0;
        loop {
            let transfers = store.transfers(page(offset)).await?;
            if transfers.is_empty() {
                break;
            }
            offset += transfers.len() as u32;
            for transfer in transfers {
                let state = transfer.state.to_string();
                let previous = logged.get(&transfer.id);
                if previous != Some(&state) {
                    recovered += 1;
                    self.record(transfer_entry(
                        &transfer,
                        previous.cloned(),
                        transfer.updated_at_ms as u64,
                    ));
                    now_logged.push((transfer.id.clone(), state));
                }
            }
        }
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "state changes saved before the last stop were missing from the transaction log; logged now"
            );
        }
        // What is logged (or queued) from here on is known, so saves do not repeat it.
        logged.extend(now_logged);
        let mut last = self.last_states.lock().expect("ledger lock");
        if logged.len() < MAX_TRACKED_PROCESSES {
            last.extend(logged);
        }
        Ok(())
    }

    /// Reads entries stored beyond the tree (at start, or appended by another replica).
    async fn catch_up(
        &self,
        store: &dyn Store,
        state: &mut LedgerState,
    ) -> Result<(), EngineError> {
        loop {
            let rows = store.ledger_rows(state.tree.size(), LOAD_PAGE).await?;
            if rows.is_empty() {
                return Ok(());
            }
            for (_, row) in rows {
                let hash = Hash::from_slice(&row.leaf_hash).map_err(|error| {
                    EngineError::Internal(format!("stored leaf hash is unusable: {error}"))
                })?;
                state.tree.append_leaf_hash(hash);
            }
        }
    }

    async fn append(&self, store: &dyn Store, entries: &[LogEntry]) -> Result<(), EngineError> {
        let at_ms = now_ms();
        let rows: Vec<LedgerRow> = entries
            .iter()
            .map(|entry| {
                let bytes = entry.encode();
                LedgerRow {
                    at_ms,
                    leaf_hash: tsunagu_ledger::leaf_hash(&bytes).as_bytes().to_vec(),
                    entry: bytes,
                }
            })
            .collect();
        let hashes: Vec<Hash> = rows
            .iter()
            .map(|row| Hash::from_slice(&row.leaf_hash).expect("a SHA-256 digest is 32 bytes"))
            .collect();
        let mut state = self.state.write().await;
        loop {
            // The checkpoint of the grown tree is signed before the write and stored with the
            // rows, in one transaction.
            let mut grown = state.tree.frontier();
            for hash in &hashes {
                grown.append_leaf_hash(*hash);
            }
            let checkpoint = Checkpoint::new(&self.settings.origin, grown.size(), grown.root())
                .map_err(|error| EngineError::Internal(format!("checkpoint: {error}")))?;
            let note = checkpoint.sign(&self.settings.signer).to_string();
            match store
                .append_ledger(state.tree.size(), &rows, Some(&note))
                .await
            {
                Ok(()) => {
                    for hash in &hashes {
                        state.tree.append_leaf_hash(*hash);
                    }
                    state.checkpoint = Some(note);
                    return Ok(());
                }
                // Another replica appended first: take its entries into the tree, then
                // append ours after them.
                Err(StoreError::Duplicate(_)) => self.catch_up(store, &mut state).await?,
                Err(other) => return Err(other.into()),
            }
        }
    }

    pub(crate) async fn checkpoint(&self) -> Option<String> {
        self.state.read().await.checkpoint.clone()
    }

    pub(crate) async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<LedgerProof, EngineError> {
        let state = self.state.read().await;
        let hashes = state
            .tree
            .inclusion_proof(index, size)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        let root = state
            .tree
            .root_at(size)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        Ok(LedgerProof {
            size,
            root: root.to_hex(),
            hashes: hashes.iter().map(Hash::to_hex).collect(),
        })
    }

    pub(crate) async fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<LedgerProof, EngineError> {
        let state = self.state.read().await;
        let hashes = state
            .tree
            .consistency_proof(old, new)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        let root = state
            .tree
            .root_at(new)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        Ok(LedgerProof {
            size: new,
            root: root.to_hex(),
            hashes: hashes.iter().map(Hash::to_hex).collect(),
        })
    }

    /// The hashes of a consistency proof from `old` to `new`.
    pub(crate) async fn consistency_hashes(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, EngineError> {
        self.state
            .read()
            .await
            .tree
            .consistency_proof(old, new)
            .map_err(|error| EngineError::Internal(format!("consistency proof: {error}")))
    }

    /// Queues an entry that the engine builds itself (a received cosignature).
    pub(crate) fn record_entry(&self, entry: LogEntry) {
        self.record(entry);
    }

    pub(crate) async fn size(&self) -> u64 {
        self.state.read().await.tree.size()
    }
}

pub(crate) fn entry_view(index: u64, row: LedgerRow) -> LedgerEntryView {
    LedgerEntryView {
        index,
        at_ms: row.at_ms,
        entry: String::from_utf8_lossy(&row.entry).into_owned(),
        leaf_hash: Hash::from_slice(&row.leaf_hash)
            .map(|hash| hash.to_hex())
            .unwrap_or_default(),
    }
}

/// Called with the SHA-256 and the length of a body read to its end.
pub(crate) type OnDelivered = Box<dyn FnOnce([u8; 32], u64) + Send>;

/// Wraps a body so that, once it has been read to its end, the SHA-256 of its exact bytes is
/// logged as a delivery.
pub(crate) struct Hashed {
    pub(crate) inner: crate::peer::ByteStream,
    pub(crate) hasher: Option<Sha256>,
    pub(crate) bytes: u64,
    /// The body's length when known: an HTTP server that sent that many bytes stops polling
    /// before the stream says it has ended, so reaching it counts as the end.
    pub(crate) expected_len: Option<u64>,
    pub(crate) on_end: Option<OnDelivered>,
    /// The SHA-256 and length the provider signed: a body that ends with others ends in an
    /// error instead, and is not logged.
    pub(crate) must_match: Option<([u8; 32], u64)>,
    pub(crate) mismatch: bool,
}

impl Hashed {
    fn finish(&mut self) {
        let Some(hasher) = self.hasher.take() else {
            return;
        };
        let digest: [u8; 32] = hasher.finalize().into();
        if let Some((sha256, bytes)) = self.must_match
            && (sha256 != digest || bytes != self.bytes)
        {
            self.on_end = None;
            self.mismatch = true;
            return;
        }
        if let Some(on_end) = self.on_end.take() {
            on_end(digest, self.bytes);
        }
    }
}

impl futures::Stream for Hashed {
    type Item = Result<bytes::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(chunk))) => {
                self.bytes += chunk.len() as u64;
                if let Some(hasher) = self.hasher.as_mut() {
                    hasher.update(chunk);
                }
                if self
                    .expected_len
                    .is_some_and(|expected| self.bytes >= expected)
                {
                    self.finish();
                }
            }
            std::task::Poll::Ready(Some(Err(_))) => {
                // A broken stream is not a delivery.
                self.on_end = None;
            }
            std::task::Poll::Ready(None) => {
                self.finish();
                if std::mem::take(&mut self.mismatch) {
                    return std::task::Poll::Ready(Some(Err(std::io::Error::other(
                        "the data does not match the SHA-256 and length the provider signed",
                    ))));
                }
            }
            std::task::Poll::Pending => {}
        }
        polled
    }
}
