//! The scheme operator of the BASC report (§7): the industry body that vouches for who is who.
//!
//! It onboards companies (checking their registration numbers), lets an admin approve them,
//! issues their credentials (membership, role in the battery chain, security profile, a
//! Gaia-X style legal-person self-description) as `vc+jwt`, revokes them through a Bitstring
//! Status List it serves, and publishes a directory of participants.
//!
//! It runs as its own process with its own store (`tsunagu operator`). It must never hold a
//! participant's private keys or data: it only attests facts about companies. Every admin
//! action is journalled.

pub mod credentials;
pub mod http;
pub mod model;
pub mod registration;
pub mod service;

pub use credentials::{CredentialIssuer, CredentialKind};
pub use http::{OperatorState, operator_router};
pub use model::{Address, Application, ApplicationForm, ChainRole, DirectoryEntry, Participant};
pub use registration::{
    RegistrationError, RegistrationKind, RegistrationNumber, corporate_number_check_digit,
};
pub use service::{Operator, OperatorError};
