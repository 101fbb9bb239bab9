//! The ODRL 2.2 policy model of tsunagu and its evaluation against a request.
//!
//! Policies reach a connector in several spellings: compact JSON-LD inside Dataspace
//! Protocol 2025-1 messages, and prefixed or fully expanded JSON-LD from Eclipse EDC and
//! Tractus-X management APIs. This crate exists so that every other crate sees one model
//! ([`Policy`]), one canonical JSON form ([`Policy::to_json`]), one notion of "the same
//! terms" ([`Policy::same_terms`]) and one answer to "may this counter-party do this
//! now?" ([`Policy::evaluate`]).
//!
//! What this crate must never do:
//! - perform IO of any kind (no network, no files, no clock, no async runtime): the caller
//!   supplies everything, including the current time, in an [`EvaluationContext`], so that
//!   a decision can be reproduced and tested exactly;
//! - treat a denial as an error: a request that the policy does not allow yields
//!   [`Decision::Deny`] with human-readable reasons, and [`PolicyError`] is reserved for
//!   policies that cannot be understood at all;
//! - panic, whatever JSON or context it is handed.
//!
//! How left operands are read (after stripping the `odrl:`, `tsunagu:`, `cx-policy:` and
//! `edc:` prefixes or their full IRIs): `dateTime` is the context's `now`; `elapsedTime`
//! is the time since the agreement was signed (zero before there is one), compared with
//! an `xsd:duration` in which a year counts as 365 days and a month as 30 days, because
//! a calendar-free span is what a policy can sensibly mean; `count` is the number of the
//! use about to happen; `purpose` and `UsagePurpose` are the request's purpose;
//! `participantId`, `BusinessPartnerNumber` and `counterPartyId` are the counter-party's
//! id; any other name is looked up among the counter-party's attributes. Anything the
//! request does not supply leaves the constraint unsatisfied, with a reason. Note the
//! consequence for prohibitions: a prohibition whose constraint cannot be decided does
//! not apply.

mod error;
mod eval;
mod model;
mod parse;
mod terms;
mod xsd;

pub use error::PolicyError;
pub use eval::{Decision, EvaluationContext};
pub use model::{Constraint, LogicalOperator, Operator, Policy, PolicyKind, Rule};
