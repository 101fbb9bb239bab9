//! Management API errors: one type, one `IntoResponse`, bodies in `application/problem+json`
//! (RFC 9457).

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use tsunagu_engine::EngineError;

/// A failed management request. The detail only ever describes the caller's own request or
/// its counter-party; internal failures are logged and answered with a reference.
#[derive(Debug)]
pub(crate) struct ManagementError {
    status: StatusCode,
    detail: String,
}

impl ManagementError {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ManagementError {
            status,
            detail: detail.into(),
        }
    }

    /// The request is malformed; `detail` names the field at fault.
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "the X-Api-Key header is missing or does not match the management API key",
        )
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<EngineError> for ManagementError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::NotFound => Self::new(StatusCode::NOT_FOUND, "not found"),
            EngineError::Unknown(reason) => Self::new(StatusCode::NOT_FOUND, reason),
            EngineError::BadRequest(reason) => Self::bad_request(reason),
            // EDC answers a request that does not fit the process's state with 409.
            EngineError::IllegalTransition(illegal) => {
                Self::new(StatusCode::CONFLICT, illegal.to_string())
            }
            EngineError::AlreadyExists(what) => {
                Self::new(StatusCode::CONFLICT, format!("{what} already exists"))
            }
            EngineError::Conflict(reason) => Self::new(StatusCode::CONFLICT, reason),
            // The peer's text describes the company's partner (or its own source system), which
            // is what the operator needs to see; it holds nothing of this connector's internals.
            peer @ EngineError::Peer(_) => Self::new(StatusCode::BAD_GATEWAY, peer.to_string()),
            internal @ (EngineError::Store(_) | EngineError::Internal(_)) => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %internal, "management request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error (reference {reference})"),
                )
            }
        }
    }
}

impl IntoResponse for ManagementError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}
