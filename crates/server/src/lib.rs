//! The HTTP surfaces of one connector and its outbound HTTP client.
//!
//! - `dsp`: the Dataspace Protocol 2025-1 HTTPS binding (catalog, negotiation, transfer, both
//!   roles) and `/.well-known/dspace-version`. Errors are DSP error messages.
//! - `dataplane`: pull endpoint (bearer token) and push inbox.
//! - `management`: the company's own API, modelled on the EDC management API v3 (`X-Api-Key`),
//!   with errors as `application/problem+json`.
//! - `peer`: `HttpPeer`, the engine's `Peer` over HTTP; it owns the conversion of domain
//!   records into outbound wire messages, as `dsp` owns the inbound one.
//!
//! Handlers are thin: parse and authenticate at the edge, call the `Connector`, convert back.
//! This crate must never decide policy or touch storage directly; both belong to the engine.

mod auth;
mod dataplane;
mod dsp;
pub mod identity;
mod management;
mod peer;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use tsunagu_engine::Connector;

pub use auth::{AuthFailure, Authenticator, CallerIdentityHeaders, DevHeaderAuthenticator};
pub use identity::{
    ConnectorIdentity, DcpAuthenticator, HttpDidResolver, HttpStatusLists, OutboundIdentity,
    identity_management_router, identity_router,
};
pub use peer::{HttpPeer, http_client, http_client_trusting};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub connector: Connector,
    pub authenticator: Arc<dyn Authenticator>,
    /// The management API key. Compared in constant time; never logged.
    pub management_api_key: Arc<str>,
}

/// The public router: DSP endpoints under `/dsp`, the data plane under `/data`, the version
/// document and a health check.
pub fn public_router(state: AppState) -> Router {
    Router::new()
        .merge(dsp::routes())
        .merge(dataplane::routes())
        .route("/health", axum::routing::get(|| async { "ok" }))
        .with_state(state)
}

/// The management API under `/management`.
pub fn management_router(state: AppState) -> Router {
    management::routes().with_state(state)
}

/// Whether a request to a route mounted beside the management API (an app's) carries the
/// management API key; compared in constant time.
pub fn management_key_matches(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    management::auth::api_key_matches(headers, expected)
}

/// An error of a route mounted beside the management API, as the management API answers
/// errors (`application/problem+json`).
pub fn management_problem(
    status: axum::http::StatusCode,
    detail: impl Into<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    management::error::ManagementError::new(status, detail).into_response()
}
