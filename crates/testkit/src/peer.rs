//! A counter-party that is never there, for tests whose connector talks to nobody.

use async_trait::async_trait;
use serde_json::Value;
use tsunagu_core::{Negotiation, NegotiationAction, Transfer, TransferAction};
use tsunagu_engine::{ByteStream, NegotiationAck, OwnIdentity, Peer, PeerError, TransferAck};

/// A [`Peer`] that refuses every call as unreachable: the connector's outbound side for
/// tests that drive one connector alone (its workers, if any run, see every delivery fail).
pub struct UnreachablePeer;

fn unreachable() -> PeerError {
    PeerError::Unreachable("connection refused (test peer)".into())
}

#[async_trait]
impl Peer for UnreachablePeer {
    async fn send_negotiation_message(
        &self,
        _: &OwnIdentity,
        _: &Negotiation,
        _: &NegotiationAction,
    ) -> Result<NegotiationAck, PeerError> {
        Err(unreachable())
    }

    async fn send_transfer_message(
        &self,
        _: &OwnIdentity,
        _: &Transfer,
        _: &TransferAction,
        _: Option<(&str, &str)>,
    ) -> Result<TransferAck, PeerError> {
        Err(unreachable())
    }

    async fn request_catalog(
        &self,
        _: &OwnIdentity,
        _: &str,
        _: &str,
        _: Value,
    ) -> Result<(Value, Option<String>), PeerError> {
        Err(unreachable())
    }

    async fn pull(&self, _: &str, _: &str) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(unreachable())
    }

    async fn push(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
        _: ByteStream,
    ) -> Result<(), PeerError> {
        Err(unreachable())
    }

    async fn fetch_source(
        &self,
        _: &str,
        _: Option<(&str, &str)>,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(unreachable())
    }
}
