//! DSP errors: one type, one `IntoResponse`, bodies in the protocol's own error formats.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tsunagu_engine::EngineError;
use tsunagu_wire::{CatalogError, ContractNegotiationError, TransferError, WireError};

/// Which protocol's error message a failure is reported in, with the process ids it concerns
/// (empty when unknown, e.g. for a body that could not be parsed).
#[derive(Debug, Clone)]
pub(crate) enum Protocol {
    Catalog,
    Negotiation {
        provider_pid: String,
        consumer_pid: String,
    },
    Transfer {
        provider_pid: String,
        consumer_pid: String,
    },
}

#[derive(Debug)]
pub(crate) struct DspError {
    pub(crate) status: StatusCode,
    pub(crate) protocol: Protocol,
    pub(crate) code: &'static str,
    pub(crate) reason: String,
}

impl DspError {
    /// The protocol an endpoint belongs to, from its path.
    pub(crate) fn protocol_of(path: &str) -> Protocol {
        if path.contains("/negotiations") {
            Protocol::Negotiation {
                provider_pid: String::new(),
                consumer_pid: String::new(),
            }
        } else if path.contains("/transfers") {
            Protocol::Transfer {
                provider_pid: String::new(),
                consumer_pid: String::new(),
            }
        } else {
            Protocol::Catalog
        }
    }

    pub(crate) fn unauthenticated(path: &str, reason: String) -> Self {
        DspError {
            status: StatusCode::UNAUTHORIZED,
            protocol: Self::protocol_of(path),
            code: "unauthenticated",
            reason,
        }
    }

    pub(crate) fn wire(protocol: Protocol, error: WireError) -> Self {
        DspError {
            status: StatusCode::BAD_REQUEST,
            protocol,
            code: "invalid-message",
            reason: error.to_string(),
        }
    }

    pub(crate) fn bad_request(protocol: Protocol, reason: String) -> Self {
        DspError {
            status: StatusCode::BAD_REQUEST,
            protocol,
            code: "bad-request",
            reason,
        }
    }

    pub(crate) fn engine(protocol: Protocol, error: EngineError) -> Self {
        let (status, code, reason) = match error {
            EngineError::NotFound => (StatusCode::NOT_FOUND, "not-found", "not found".to_owned()),
            EngineError::Unknown(reason) => (StatusCode::NOT_FOUND, "not-found", reason),
            EngineError::BadRequest(reason) => (StatusCode::BAD_REQUEST, "bad-request", reason),
            EngineError::IllegalTransition(illegal) => (
                StatusCode::BAD_REQUEST,
                "illegal-transition",
                illegal.to_string(),
            ),
            EngineError::AlreadyExists(what) => (
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            EngineError::Conflict(reason) => (StatusCode::CONFLICT, "conflict", reason),
            other => {
                // Internal failures are logged with their detail and reported without it.
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %other, "DSP request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("internal error (reference {reference})"),
                )
            }
        };
        DspError {
            status,
            protocol,
            code,
            reason,
        }
    }
}

impl IntoResponse for DspError {
    fn into_response(self) -> Response {
        let body = match self.protocol {
            Protocol::Catalog => serde_json::to_value(CatalogError::new(self.code, self.reason)),
            Protocol::Negotiation {
                provider_pid,
                consumer_pid,
            } => serde_json::to_value(ContractNegotiationError::new(
                provider_pid,
                consumer_pid,
                self.code,
                self.reason,
            )),
            Protocol::Transfer {
                provider_pid,
                consumer_pid,
            } => serde_json::to_value(TransferError::new(
                provider_pid,
                consumer_pid,
                self.code,
                self.reason,
            )),
        }
        .unwrap_or_default();
        (self.status, axum::Json(body)).into_response()
    }
}
