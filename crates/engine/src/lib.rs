//! The use cases of one connector, behind the `Connector` facade that the HTTP layer, the CLI
//! and the apps call.
//!
//! This crate exists to hold everything a connector *does* (answer a catalog request, decide a
//! contract request, hand out and check data-plane tokens, drive negotiations and transfers to
//! their end) independently of how messages travel. Inbound messages arrive as domain calls;
//! outbound ones leave through the `Peer` trait, which the server crate implements over HTTP.
//!
//! It must never know HTTP, JSON-LD or SQL: wire conversion happens in `server`, storage in
//! `store`. Every policy decision is taken here, with the `policy` crate, so that no route can
//! forget one.

mod catalog;
mod contracts;
mod dataplane;
mod error;
mod history;
mod inbox;
mod ledger;
mod management;
mod negotiations;
mod peer;
mod signatures;
mod transfers;
mod waiting;
mod witness;
mod workers;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tsunagu_store::Store;
use waiting::Changed;

pub use catalog::{CatalogEntry, CatalogOffer, CatalogQuery};
pub use contracts::{CONTRACT_TERMS, ContractLibrary};
pub use dataplane::{DataStream, PushDelivery};
pub use error::EngineError;
pub use history::{History, HistoryQuery, MAX_HISTORY_ENTRIES, ProvenEntry};
pub use inbox::{
    InboxCall, InboxHandler, InboxMessage, InboxMethod, InboxReceipt, InboxRefusal, InboxReply,
    MAX_INBOX_MESSAGE_BYTES,
};
pub use ledger::{LedgerEntryView, LedgerProof, LedgerSettings};
pub use management::{NewAssetRequest, NewContractDefinition, NewPolicyDefinition};
pub use negotiations::{
    ContractOfferIn, ContractRequestIn, StartNegotiation, agreement_policy_json,
};
pub use peer::{ByteStream, NegotiationAck, OwnIdentity, Peer, PeerError, TransferAck};
pub use signatures::{
    AGREEMENT_SIGNATURE, AgreementSigner, DATA_SIGNATURE_HEADER, agreement_digest, contract_terms,
};
pub use transfers::{StartTransfer, TransferMessageIn, TransferRequestIn};
pub use witness::{
    ALARMS as WITNESS_ALARMS, AddCheckpointAnswer, COSIGNED, HeldCheckpoint, PartyKeys, WITNESSED,
    WitnessAlarm, WitnessRefusal,
};
pub use workers::Workers;

/// A counter-party whose identity the HTTP layer has established. Handlers receive it from the
/// authentication seam; only that seam creates one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCaller {
    participant_id: String,
    attributes: BTreeMap<String, Vec<String>>,
}

impl VerifiedCaller {
    /// Made by an authenticator after it has verified who is calling. Nothing else should call
    /// this: a caller built from unchecked input defeats every policy.
    pub fn authenticated(
        participant_id: String,
        attributes: BTreeMap<String, Vec<String>>,
    ) -> Self {
        VerifiedCaller {
            participant_id,
            attributes,
        }
    }

    pub fn participant_id(&self) -> &str {
        &self.participant_id
    }

    pub fn attributes(&self) -> &BTreeMap<String, Vec<String>> {
        &self.attributes
    }
}

/// What the engine needs to know about its own connector.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This company's participant id (its DID once identity lands).
    pub participant_id: String,
    /// Public base URL of this connector's DSP endpoints, e.g. `https://cfp.example.com/dsp`.
    pub dsp_url: String,
    /// Public base URL of this connector's data plane, e.g. `https://cfp.example.com/data`.
    pub data_url: String,
    /// How long a pull token stays valid.
    pub token_lifetime: Duration,
    /// Identifies this process in leases.
    pub worker_id: String,
    /// How long a claimed row stays leased to this process.
    pub lease: Duration,
    /// How many rows one claim takes and how many deliveries run at once.
    pub batch: u32,
    /// How often idle workers look for due work (they are also woken on every change).
    pub poll_interval: Duration,
    /// Size of the chunks in which stored asset bytes are kept.
    pub chunk_size: usize,
    /// Who may deal with this connector at all (report §5.1 ①: named connectors, connectors
    /// with given attributes, or a security profile), as an ODRL policy evaluated against
    /// every caller before any access policy. A caller it refuses sees an empty catalog and
    /// gets 404 for everything else. `None` admits every authenticated caller.
    pub admission: Option<tsunagu_policy::Policy>,
    /// Keep a transaction log of every protocol event, with signed checkpoints. `None`: no log.
    pub ledger: Option<LedgerSettings>,
    /// The least time between two checkpoint exchanges with the same partner (witnessing).
    pub witness_interval: Duration,
    /// The contract templates offered; `None`: the shipped library.
    pub contract_library: Option<ContractLibrary>,
}

impl Settings {
    pub fn new(participant_id: String, dsp_url: String, data_url: String) -> Self {
        Settings {
            participant_id,
            dsp_url,
            data_url,
            token_lifetime: Duration::from_secs(3600),
            worker_id: uuid::Uuid::new_v4().to_string(),
            lease: Duration::from_secs(30),
            batch: 64,
            poll_interval: Duration::from_millis(500),
            chunk_size: 1 << 20,
            admission: None,
            ledger: None,
            witness_interval: Duration::from_secs(10),
            contract_library: None,
        }
    }

    /// The callback base address this connector gives providers when it acts as consumer.
    pub fn callback_address(&self) -> String {
        format!("{}/callback", self.dsp_url.trim_end_matches('/'))
    }
}

/// The connector facade. Cheap to clone; all clones share one store, peer and workers.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    peer: Arc<dyn Peer>,
    settings: Settings,
    /// Wake the worker loops. Negotiation work never needs it now (a delivery goes on to what
    /// came due meanwhile, and retries wait for the poll); transfers still queue work that way.
    negotiation_work: Notify,
    transfer_work: Notify,
    /// Negotiations being delivered here, and what a handler wrote meanwhile (see `workers`).
    negotiation_handovers: workers::Handovers<tsunagu_core::Negotiation>,
    /// Who waits for which process (see `waiting`).
    waiters: waiting::Waiters,
    events: broadcast::Sender<ProcessEvent>,
    ledger: Option<Arc<ledger::Ledger>>,
    /// The apps' handlers of inbox assets, by asset id (see `inbox`).
    inbox_handlers: std::sync::RwLock<std::collections::HashMap<String, Arc<dyn InboxHandler>>>,
    /// Where partners' keys come from; witnessing needs them (see `witness`).
    party_keys: std::sync::RwLock<Option<Arc<dyn PartyKeys>>>,
    /// Partners to exchange checkpoints with; `None` without a log.
    exchanges: Option<witness::Exchanges>,
    /// Signs agreements and checks partners' signatures (see `signatures`).
    agreement_signer: std::sync::RwLock<Option<Arc<dyn AgreementSigner>>>,
}

/// A negotiation or transfer changed state in this connector. Subscribers (the demo, the
/// benchmark, tests, later the apps) wait on these instead of polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessEvent {
    Negotiation {
        id: String,
        state: tsunagu_core::NegotiationState,
    },
    Transfer {
        id: String,
        state: tsunagu_core::TransferState,
    },
}

impl Connector {
    pub fn new(store: Arc<dyn Store>, peer: Arc<dyn Peer>, settings: Settings) -> Self {
        let settings_ledger = settings.ledger.clone();
        let exchanges = settings
            .ledger
            .as_ref()
            .filter(|ledger| ledger.cosigner.is_some())
            .map(|_| witness::Exchanges::new());
        Connector {
            inner: Arc::new(Inner {
                store,
                peer,
                settings,
                negotiation_work: Notify::new(),
                transfer_work: Notify::new(),
                negotiation_handovers: Default::default(),
                waiters: Default::default(),
                events: broadcast::channel(4096).0,
                ledger: settings_ledger.map(|settings| Arc::new(ledger::Ledger::new(settings))),
                inbox_handlers: Default::default(),
                party_keys: Default::default(),
                exchanges,
                agreement_signer: Default::default(),
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn participant_id(&self) -> &str {
        &self.inner.settings.participant_id
    }

    fn peer(&self) -> &dyn Peer {
        self.inner.peer.as_ref()
    }

    /// Every state change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ProcessEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn ledger(&self) -> Option<&ledger::Ledger> {
        self.inner.ledger.as_deref()
    }

    /// The latest signed checkpoint of the transaction log (a C2SP signed note).
    pub async fn ledger_checkpoint(&self) -> Result<String, EngineError> {
        let ledger = self.ledger().ok_or(EngineError::NotFound)?;
        ledger.checkpoint().await.ok_or(EngineError::NotFound)
    }

    /// Stored log entries from `from` on.
    pub async fn ledger_entries(
        &self,
        from: u64,
        limit: u32,
    ) -> Result<Vec<LedgerEntryView>, EngineError> {
        self.ledger().ok_or(EngineError::NotFound)?;
        Ok(self
            .store()
            .ledger_rows(from, limit)
            .await?
            .into_iter()
            .map(|(index, row)| ledger::entry_view(index, row))
            .collect())
    }

    /// How many entries the log holds (in this process's view).
    pub async fn ledger_size(&self) -> Result<u64, EngineError> {
        Ok(self.ledger().ok_or(EngineError::NotFound)?.size().await)
    }

    pub async fn ledger_inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<LedgerProof, EngineError> {
        self.ledger()
            .ok_or(EngineError::NotFound)?
            .inclusion_proof(index, size)
            .await
    }

    pub async fn ledger_consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<LedgerProof, EngineError> {
        self.ledger()
            .ok_or(EngineError::NotFound)?
            .consistency_proof(old, new)
            .await
    }

    pub(crate) fn negotiation_changed(&self, negotiation: &tsunagu_core::Negotiation) {
        if let Some(ledger) = self.ledger() {
            ledger.negotiation_changed(negotiation);
            self.dealt_with(
                &negotiation.counter_party_id,
                &negotiation.counter_party_address,
            );
        }
        self.inner
            .waiters
            .announce(&negotiation.id, Changed::Negotiation(negotiation.state));
        let _ = self.inner.events.send(ProcessEvent::Negotiation {
            id: negotiation.id.clone(),
            state: negotiation.state,
        });
    }

    pub(crate) fn transfer_changed(&self, transfer: &tsunagu_core::Transfer) {
        if let Some(ledger) = self.ledger() {
            ledger.transfer_changed(transfer);
            self.dealt_with(&transfer.counter_party_id, &transfer.counter_party_address);
        }
        self.inner
            .waiters
            .announce(&transfer.id, Changed::Transfer(transfer.state));
        let _ = self.inner.events.send(ProcessEvent::Transfer {
            id: transfer.id.clone(),
            state: transfer.state,
        });
    }

    /// Waits until negotiation `id` is in a state `done` accepts, or `timeout` passes.
    pub async fn wait_for_negotiation(
        &self,
        id: &str,
        done: impl Fn(tsunagu_core::NegotiationState) -> bool,
        timeout: Duration,
    ) -> Result<tsunagu_core::Negotiation, EngineError> {
        self.wait_for(
            "negotiation",
            id,
            timeout,
            || self.negotiation(id),
            |negotiation| negotiation.state,
            |changed| match changed {
                Changed::Negotiation(state) => Some(state),
                Changed::Transfer(_) => None,
            },
            done,
        )
        .await
    }

    /// Waits until transfer `id` is in a state `done` accepts, or `timeout` passes.
    pub async fn wait_for_transfer(
        &self,
        id: &str,
        done: impl Fn(tsunagu_core::TransferState) -> bool,
        timeout: Duration,
    ) -> Result<tsunagu_core::Transfer, EngineError> {
        self.wait_for(
            "transfer",
            id,
            timeout,
            || self.transfer(id),
            |transfer| transfer.state,
            |changed| match changed {
                Changed::Transfer(state) => Some(state),
                Changed::Negotiation(_) => None,
            },
            done,
        )
        .await
    }
}

/// Milliseconds since the Unix epoch, the time unit of every stored record.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh process or record identifier.
pub(crate) fn new_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}
