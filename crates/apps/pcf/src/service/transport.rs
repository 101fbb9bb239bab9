//! How trade requests and answers travel between two companies' PCF services.
//!
//! A buyer's service never calls a supplier's service directly: it hands a message to its
//! `TradeTransport`, and the supplier's transport hands it to the supplier's service
//! (`PcfService::receive_trade_request` / `receive_trade_response`). Between them runs the
//! data space: the connector integration sends these messages over the Eclipse Dataspace
//! Protocol under the contract the two companies agreed. `LoopbackNetwork` wires services in
//! one process, for tests.
//!
//! # Contract for an implementation
//!
//! * `send_*` returns `Ok` once the message is accepted for delivery. An implementation over
//!   DSP may queue it durably and deliver later; the loopback delivers at once and reports
//!   the receiver's refusal as an error.
//! * On `Err` the service keeps the message pending on its record and retries it from
//!   `PcfService::deliver_pending`, so a transport need not retry by itself; it must not
//!   report `Ok` for a message it then drops.
//! * Delivery is at least once. The receiving service is idempotent: a repeated message is
//!   acknowledged and changes nothing. Messages may arrive out of order; a late request
//!   after an answer, or a late answer after a cancellation, is acknowledged and ignored.
//! * The receiving side must call `receive_*` with the DID the data space authenticated for
//!   the sender (a DCP-verified caller), never a DID read from the message: the service
//!   checks it against the partner it knows for the operator id in the message, so that one
//!   company cannot answer or cancel on another's behalf.
//! * The messages are plain JSON (`serde`), versioned by `TRADE_MESSAGE_VERSION`; a
//!   receiver refuses a version it does not know.
//! * What a message carries is meant for the recipient: a request carries the buyer's part
//!   without the amount its bill of materials needs; an answer carries the supplier's
//!   footprint only as the projection its disclosure policy allows for that buyer.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::company::{Operator, Part, TraceId};
use crate::request::TradeRequest;
use crate::rollup::DisclosedFootprint;

use super::{Inner, PcfService};

/// The version of the message shapes below.
pub const TRADE_MESSAGE_VERSION: u32 = 1;

/// Another company this one trades with: its Ouranos operator record and the DID under
/// which the data space knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub operator: Operator,
    pub did: String,
}

/// A buyer's request (new, changed, resubmitted after a rejection, or cancelled), sent to the
/// supplier. The request's `status` says which: `NotCompleted` or `Cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRequestMessage {
    pub version: u32,
    /// The buyer's record of the request.
    pub request: TradeRequest,
    /// The buyer's public operator record, for the supplier's list of partners.
    pub requester: Operator,
    /// The buyer's part, as the supplier may see it: `amount_required` is always `None`.
    pub requested_part: Part,
}

/// A supplier's answer, sent to the buyer: the part it linked with its footprint, or a
/// rejection. Sent again whenever the footprint, the disclosure or the supply tree above
/// the part changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeResponseMessage {
    pub version: u32,
    pub trade_id: Uuid,
    pub status_id: Uuid,
    pub answer: TradeAnswer,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum TradeAnswer {
    /// The supplier linked its own part (Ouranos `PUT tradeResponse`).
    Completed {
        upstream_trace_id: TraceId,
        /// `None` until the supplier has a footprint for the part.
        footprint: Option<Box<DisclosedFootprint>>,
        /// The requests further up the supply tree of the linked part.
        upstream: SubtreeProgress,
    },
    /// The supplier sent the request back (Ouranos `REJECT` with its `replyMessage`).
    Rejected { reason: String },
}

/// How far the requests in a supply tree have come, not counting the request that links the
/// tree to its buyer (Ouranos `completedCount`, `tradesCount`, `tradeTreeStatus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtreeProgress {
    pub completed: u32,
    pub total: u32,
    /// Every branch ends in a part marked as an end of the tree (`terminatedFlag`).
    pub terminated: bool,
    /// How many companies the tree spans above this one; propagation stops at
    /// `MAX_TREE_DEPTH`, which also ends a loop between companies.
    pub depth: u32,
}

/// Supply trees deeper than this are not propagated further down.
pub const MAX_TREE_DEPTH: u32 = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("{partner} cannot be reached: {reason}")]
    Unreachable { partner: String, reason: String },
    #[error("{partner} refused the message: {reason}")]
    Refused { partner: String, reason: String },
}

/// The way out to other companies. See the module documentation for the contract.
#[async_trait]
pub trait TradeTransport: Send + Sync + 'static {
    /// Delivers a buyer's request to the supplier `supplier`.
    async fn send_request(
        &self,
        supplier: &Partner,
        message: TradeRequestMessage,
    ) -> Result<(), TransportError>;

    /// Delivers a supplier's answer to the buyer `buyer`.
    async fn send_response(
        &self,
        buyer: &Partner,
        message: TradeResponseMessage,
    ) -> Result<(), TransportError>;
}

/// Services in one process, each known by its DID: a test double of the data space.
#[derive(Default)]
pub struct LoopbackNetwork {
    services: Mutex<HashMap<String, Weak<Inner>>>,
    /// DIDs whose messages are dropped with `Unreachable`, to test redelivery.
    unreachable: Mutex<Vec<String>>,
}

impl LoopbackNetwork {
    pub fn new() -> std::sync::Arc<LoopbackNetwork> {
        std::sync::Arc::new(LoopbackNetwork::default())
    }

    /// The transport for the service that the data space knows as `did`.
    pub fn transport_for(
        self: &std::sync::Arc<Self>,
        did: &str,
    ) -> std::sync::Arc<dyn TradeTransport> {
        std::sync::Arc::new(LoopbackTransport {
            network: self.clone(),
            sender_did: did.to_owned(),
        })
    }

    /// Makes `service` reachable as `did`. The network holds it weakly, so a dropped service
    /// becomes unreachable.
    pub fn attach(&self, did: &str, service: &PcfService) {
        self.services
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(did.to_owned(), service.downgrade());
    }

    /// While cut, messages to `did` fail with `Unreachable`.
    pub fn set_reachable(&self, did: &str, reachable: bool) {
        let mut unreachable = self
            .unreachable
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        unreachable.retain(|d| d != did);
        if !reachable {
            unreachable.push(did.to_owned());
        }
    }

    fn service(&self, did: &str) -> Result<PcfService, TransportError> {
        let unreachable = |reason: &str| TransportError::Unreachable {
            partner: did.to_owned(),
            reason: reason.to_owned(),
        };
        if self
            .unreachable
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .any(|d| d == did)
        {
            return Err(unreachable("the link is cut"));
        }
        let services = self
            .services
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        services
            .get(did)
            .and_then(PcfService::upgrade)
            .ok_or_else(|| unreachable("no service attached"))
    }
}

struct LoopbackTransport {
    network: std::sync::Arc<LoopbackNetwork>,
    sender_did: String,
}

#[async_trait]
impl TradeTransport for LoopbackTransport {
    async fn send_request(
        &self,
        supplier: &Partner,
        message: TradeRequestMessage,
    ) -> Result<(), TransportError> {
        let service = self.network.service(&supplier.did)?;
        service
            .receive_trade_request(&self.sender_did, message)
            .await
            .map_err(|error| TransportError::Refused {
                partner: supplier.did.clone(),
                reason: error.to_string(),
            })
    }

    async fn send_response(
        &self,
        buyer: &Partner,
        message: TradeResponseMessage,
    ) -> Result<(), TransportError> {
        let service = self.network.service(&buyer.did)?;
        service
            .receive_trade_response(&self.sender_did, message)
            .await
            .map_err(|error| TransportError::Refused {
                partner: buyer.did.clone(),
                reason: error.to_string(),
            })
    }
}

/// A transport for a company that trades with nobody yet: every send fails and stays
/// pending.
pub struct NoTransport;

#[async_trait]
impl TradeTransport for NoTransport {
    async fn send_request(
        &self,
        supplier: &Partner,
        _message: TradeRequestMessage,
    ) -> Result<(), TransportError> {
        Err(TransportError::Unreachable {
            partner: supplier.did.clone(),
            reason: "no transport is configured".into(),
        })
    }

    async fn send_response(
        &self,
        buyer: &Partner,
        _message: TradeResponseMessage,
    ) -> Result<(), TransportError> {
        Err(TransportError::Unreachable {
            partner: buyer.did.clone(),
            reason: "no transport is configured".into(),
        })
    }
}
