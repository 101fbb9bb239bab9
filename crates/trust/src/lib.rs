//! Identity primitives of tsunagu: who a counter-party is, and what trusted issuers say about
//! it.
//!
//! Why this crate exists: every connector must prove its own identity and check its partners'
//! in the same, reviewed way, following the Eclipse Decentralized Claims Protocol (DCP 1.0,
//! profile `vc20-bssl/jwt`): Ed25519 keys with rotation ([`keys`]), JWKs ([`jwk`]) and compact
//! JWS ([`jws`]), DIDs (`did:web`, `did:key`) and DID documents ([`did`]), W3C Verifiable
//! Credentials 2.0 as `vc+jwt` ([`vc`]) and presentations as `vp+jwt` ([`vp`]), Bitstring Status
//! List revocation ([`status_list`]), DCP self-issued ID tokens and presentation messages
//! ([`dcp`]), selective disclosure with SD-JWT (RFC 9901) and key binding ([`sd_jwt`]), and the
//! mapping from a verified presentation to the attributes the policy engine evaluates
//! ([`attributes`]).
//!
//! What this crate must never do:
//! - perform IO: no files, no network, no clock, no async runtime (no tokio). The current time
//!   (`chrono::DateTime<Utc>`) and randomness (`rand::RngCore + CryptoRng`) are passed in;
//!   DID resolution and status list fetching are the traits [`did::DidResolver`] and
//!   [`status_list::StatusListSource`], implemented by the server;
//! - reveal key material: private keys never appear in `Debug` output or in error messages,
//!   and [`TrustError`] messages never contain keys, signatures or whole tokens;
//! - reveal what an SD-JWT conceals: disclosure values never appear in `Debug` output or error
//!   messages (disclosures are named by their digest);
//! - accept a token on weaker terms than the standards demand: only `EdDSA` and `ES256`, the
//!   algorithm must fit the key the verifier chose, keys are taken only from the signer's DID
//!   document and only under the verification relationship the purpose requires.
//!
//! # Changes from the first sketch of this API
//!
//! Recorded for the engineers integrating it:
//! - `DidDocument::key_for(kid, relationship)` takes a [`did::Relationship`]: DCP requires
//!   `capabilityInvocation` for self-issued tokens and `authentication` for presentations;
//!   credentials need `assertionMethod`.
//! - `DidDocument::for_key_ring` takes a parsed [`did::Did`].
//! - Verification of credentials and presentations takes one [`vc::TrustContext`] (resolver,
//!   status list source, trusted issuers) instead of three arguments:
//!   `verify_vc_jwt(jwt, &context, now)` and
//!   `verify_vp_jwt(jwt, &PresentationExpectations { audience, holder, nonce }, &context, now)`.
//! - `make_vp_jwt(holder_did, key, credentials, &PresentationTarget { audience, nonce,
//!   lifetime }, now, rng)`: the `jti` needs randomness.
//! - `issue_vc_jwt` and `issue_self_issued_token` return `Result` (a credential whose issuer is
//!   not the signer, a lifetime over five minutes).
//! - The maximum self-issued token lifetime a verifier accepts is part of the
//!   [`dcp::ReplayCache`] (`ReplayCache::new(capacity, max_token_lifetime)`), since it bounds
//!   how long token ids are kept.
//! - [`vc::VerifiedCredential::types`] holds only the types the issuer is trusted for.
//! - There is one error type, [`TrustError`], for the whole crate.

pub mod attributes;
pub mod dcp;
pub mod did;
mod error;
pub mod jwk;
pub mod jws;
pub mod keys;
pub mod sd_jwt;
pub mod status_list;
pub mod vc;
pub mod vp;

pub use error::TrustError;
