use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use tsunagu_core::{Negotiation, NegotiationAction, Transfer, TransferAction};

/// Bytes on their way, never all in memory at once.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Why a message could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The counter-party answered and refused (a 4xx): retrying the same message is pointless.
    #[error("refused with status {status}: {detail}")]
    Refused { status: u16, detail: String },
    /// Nobody answered, or the answer was a 5xx: worth another try later.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The answer could not be understood.
    #[error("invalid answer: {0}")]
    InvalidAnswer(String),
}

impl PeerError {
    pub fn is_permanent(&self) -> bool {
        !matches!(self, PeerError::Unreachable(_))
    }
}

/// What the counter-party's acknowledgement of a negotiation message told us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiationAck {
    /// The counter-party's process id, learnt from the answer to an initial message.
    pub counter_party_pid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferAck {
    pub counter_party_pid: Option<String>,
}

/// The outbound side of the protocol: everything a connector says to another one. The server
/// crate implements it over HTTPS; it owns the conversion of domain records to wire messages.
#[async_trait]
pub trait Peer: Send + Sync + 'static {
    /// Sends the message `action` stands for, about `negotiation`, to its counter-party.
    /// `own` identifies this connector (its participant id and callback address).
    async fn send_negotiation_message(
        &self,
        own: &OwnIdentity,
        negotiation: &Negotiation,
        action: &NegotiationAction,
    ) -> Result<NegotiationAck, PeerError>;

    /// Sends a transfer message. For a provider's start of a pull transfer, `pull_address`
    /// carries the data-plane endpoint and the token to hand out.
    async fn send_transfer_message(
        &self,
        own: &OwnIdentity,
        transfer: &Transfer,
        action: &TransferAction,
        pull_address: Option<(&str, &str)>,
    ) -> Result<TransferAck, PeerError>;

    /// Asks a provider (`counter_party_id`, at `dsp_url`) for its catalog; returns the
    /// catalog JSON and the `next` page link.
    async fn request_catalog(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        dsp_url: &str,
        request: serde_json::Value,
    ) -> Result<(serde_json::Value, Option<String>), PeerError>;

    /// Asks the partner `counter_party_id` (at its DSP or callback `address`) to cosign our
    /// checkpoint: `body` is a C2SP tlog-witness `add-checkpoint` request. A peer that does not
    /// witness refuses.
    async fn add_checkpoint(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        address: &str,
        body: String,
    ) -> Result<crate::AddCheckpointAnswer, PeerError> {
        let _ = (own, counter_party_id, address, body);
        Err(PeerError::Refused {
            status: 501,
            detail: "this peer does not exchange checkpoints".into(),
        })
    }

    /// Asks the partner `counter_party_id` (at its DSP or callback `address`) for the log
    /// entries that concern us and `query` selects (a tsunagu extension). A peer that keeps no
    /// history refuses.
    async fn history(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        address: &str,
        query: &crate::HistoryQuery,
    ) -> Result<serde_json::Value, PeerError> {
        let _ = (own, counter_party_id, address, query);
        Err(PeerError::Refused {
            status: 501,
            detail: "this peer does not share its history".into(),
        })
    }

    /// Fetches from the provider `counter_party_id` (at its DSP `address`) the contract text
    /// whose SHA-256 is `sha256` (a tsunagu extension).
    async fn contract_text(
        &self,
        own: &OwnIdentity,
        counter_party_id: &str,
        address: &str,
        sha256: &str,
    ) -> Result<serde_json::Value, PeerError> {
        let _ = (own, counter_party_id, address, sha256);
        Err(PeerError::Refused {
            status: 501,
            detail: "this peer serves no contract texts".into(),
        })
    }

    /// Fetches the bytes of a started pull transfer from the provider's data plane.
    async fn pull(
        &self,
        endpoint: &str,
        token: &str,
    ) -> Result<(Option<String>, ByteStream), PeerError>;

    /// Like [`Peer::pull`], with the provider's signature of the bytes when it sent one.
    async fn pull_signed(
        &self,
        endpoint: &str,
        token: &str,
    ) -> Result<(Option<String>, Option<String>, ByteStream), PeerError> {
        let (media_type, body) = self.pull(endpoint, token).await?;
        Ok((media_type, None, body))
    }

    /// Delivers bytes to a consumer's push endpoint.
    async fn push(
        &self,
        endpoint: &str,
        token: Option<&str>,
        media_type: Option<&str>,
        body: ByteStream,
    ) -> Result<(), PeerError>;

    /// Calls a provider's inbox below its data address: `url` is the pull endpoint with the
    /// sub-path and query appended, `token` the pull token. Returns the success status. A
    /// peer that calls no inboxes refuses.
    async fn call_data_plane(
        &self,
        url: &str,
        token: &str,
        method: crate::InboxMethod,
        media_type: Option<&str>,
        body: bytes::Bytes,
    ) -> Result<u16, PeerError> {
        let _ = (url, token, method, media_type, body);
        Err(PeerError::Refused {
            status: 501,
            detail: "this peer calls no inboxes".into(),
        })
    }

    /// Reads an asset's bytes from one of the provider's own systems (a URL only the provider
    /// configured).
    async fn fetch_source(
        &self,
        url: &str,
        auth_header: Option<(&str, &str)>,
    ) -> Result<(Option<String>, ByteStream), PeerError>;
}

/// Who this connector is, as the peer needs it to address and sign messages.
#[derive(Debug, Clone)]
pub struct OwnIdentity {
    pub participant_id: String,
    /// Where a provider's counter-party reaches it: its DSP base URL.
    pub dsp_url: String,
    /// Where a consumer's counter-party calls it back (`<dsp>/callback`).
    pub callback_address: String,
}
