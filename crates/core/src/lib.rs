//! The connector's domain: assets, policy and contract definitions, contract negotiations,
//! agreements and transfer processes, with the two DSP state machines as explicit tables.
//!
//! This crate exists so that the rules of the protocol live in one small, synchronous place
//! that every other crate obeys: the HTTP edge, the workers and the store all ask it whether a
//! transition is legal and let it apply the change.
//!
//! It must never do IO, read the clock or draw random numbers (time and identifiers are passed
//! in), and must never depend on wire types: conversion to and from DSP JSON happens at the edge.

mod asset;
mod negotiation;
mod transfer;

pub use asset::{
    Asset, AssetContent, AssetSelector, ContractDefinition, OfferId, PolicyDefinition,
};
pub use negotiation::{
    Agreement, Negotiation, NegotiationAction, NegotiationMessage, NegotiationState,
    NewNegotiation, negotiation_transition,
};
pub use transfer::{
    NewTransfer, Transfer, TransferAction, TransferMessage, TransferMode, TransferState,
    transfer_transition,
};

use serde::{Deserialize, Serialize};

/// Which side of a negotiation or transfer this connector is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Provider,
    Consumer,
}

impl Role {
    pub fn other(self) -> Role {
        match self {
            Role::Provider => Role::Consumer,
            Role::Consumer => Role::Provider,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::Consumer => "consumer",
        }
    }
}

/// A message this connector still owes its counter-party. Workers send it; the counter-party's
/// acknowledgement clears it. `seq` tells a worker whether the action it sent is still the one
/// pending when it comes back (the record may have moved on meanwhile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending<A> {
    pub action: A,
    pub seq: u64,
    pub attempts: u32,
    /// Milliseconds since the Unix epoch before which no worker should try again.
    pub not_before_ms: i64,
}

/// A transition the protocol does not allow. The text is safe to send to the counter-party.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} is not allowed in state {state}")]
pub struct IllegalTransition {
    pub message: String,
    pub state: String,
}

/// How long to wait before the next attempt to deliver a message: doubling from 100 ms up to
/// one minute, so that a partner that is briefly down is not flooded and one that comes back
/// is reached soon.
pub fn retry_delay_ms(attempts: u32) -> i64 {
    let exponent = attempts.min(10);
    (100_i64 << exponent).min(60_000)
}

/// After this many failed deliveries the process is terminated locally.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 12;
