//! Messages of the Eclipse Dataspace Protocol 2025-1 exactly as they travel between connectors.
//!
//! This crate exists so that every byte tsunagu sends or accepts over DSP has one typed,
//! reviewed definition, checked against the official JSON schemas by the tests. It holds serde
//! types, the JSON-LD context they carry and the structural checks the schemas demand.
//!
//! It must never do IO, know about storage or HTTP, or hold domain logic: converting wire types
//! to domain types happens at the protocol edge (the `server` and `engine` crates). Policies are
//! kept as raw JSON here (`serde_json::Value`) so that what a provider offered travels back in the
//! agreement byte for byte; the `policy` crate interprets them.

mod catalog;
mod message;
mod negotiation;
mod transfer;

pub use catalog::{
    Catalog, CatalogError, CatalogRequestMessage, DataService, Dataset, DatasetRequestMessage,
    Distribution, ProtocolVersion, VersionResponse,
};
pub use message::{DSP_CONTEXT, DspMessage, WireError, context, parse};
pub use negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiation,
    ContractNegotiationError, ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage, ContractOfferMessage, ContractRequestMessage,
    NegotiationEventType, NegotiationState,
};
pub use transfer::{
    DataAddress, EndpointProperty, TransferCompletionMessage, TransferError, TransferProcess,
    TransferRequestMessage, TransferStartMessage, TransferState, TransferSuspensionMessage,
    TransferTerminationMessage,
};
