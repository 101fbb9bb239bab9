//! The Ouranos error shape: `{"code": "[system] Status", "message": ..., "detail": ...}`.
//!
//! `code` names the part of Ouranos the error comes from (`auth` for the user
//! authentication system, `dataspace` for the data-transaction system, `traceability` for
//! the traceability system, whose refusals carry a message code in `detail`). Otherwise
//! `detail` reads `id: <operator id>, timeStamp: <UTC>, dataTarget: <target>, method:
//! <METHOD>`, with the id empty before the caller is authenticated, as in Ouranos.
//! Internal errors are logged with the request's `x-track` id and answered without detail.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::service::{AuthError, ServiceError};

/// Which Ouranos system an error is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum System {
    Auth,
    Dataspace,
    Traceability,
}

impl System {
    fn prefix(self) -> &'static str {
        match self {
            System::Auth => "[auth]",
            System::Dataspace => "[dataspace]",
            System::Traceability => "[traceability]",
        }
    }
}

/// What went wrong, before it is known for which request.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    /// `None`: the system of the endpoint.
    system: Option<System>,
    message: String,
    /// A traceability message code, shown as the detail.
    message_code: Option<&'static str>,
    /// Logged, never sent.
    internal: Option<String>,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            system: None,
            message: message.into(),
            message_code: None,
            internal: None,
        }
    }

    pub(crate) fn attributed_to(mut self, system: System) -> Failure {
        self.system = Some(system);
        self
    }

    /// `Invalid request parameters, <name>: Unexpected query parameter`.
    pub(crate) fn unexpected_parameter(name: &str) -> Failure {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid request parameters, {name}: Unexpected query parameter"),
        )
    }

    /// `Invalid request parameters, <reason>`.
    pub(crate) fn parameters(reason: impl std::fmt::Display) -> Failure {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid request parameters, {reason}"),
        )
    }

    /// `Validation failed, <reason>`.
    pub(crate) fn validation(reason: impl std::fmt::Display) -> Failure {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("Validation failed, {reason}"),
        )
    }

    /// A 400 whose message is complete as given.
    pub(crate) fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn endpoint_not_found() -> Failure {
        Failure::new(StatusCode::NOT_FOUND, "Endpoint Not Found")
    }

    pub(crate) fn not_found(what: impl std::fmt::Display) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, format!("{what} Not Found"))
    }

    pub(crate) fn auth(error: AuthError) -> Failure {
        let (status, message) = match error {
            AuthError::MissingApiKey => (
                StatusCode::FORBIDDEN,
                "You do not have the necessary privileges",
            ),
            AuthError::InvalidApiKey => (StatusCode::FORBIDDEN, "Invalid key"),
            AuthError::MissingToken => (StatusCode::UNAUTHORIZED, "Authentication required"),
            AuthError::InvalidToken => (StatusCode::UNAUTHORIZED, "Invalid or expired token"),
            AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "Invalid credentials"),
        };
        Failure::new(status, message).attributed_to(System::Auth)
    }

    pub(crate) fn forbidden(reason: impl Into<String>) -> Failure {
        Failure {
            internal: Some(reason.into()),
            ..Failure::new(
                StatusCode::FORBIDDEN,
                "You do not have the necessary privileges",
            )
        }
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Failure {
        Failure {
            internal: Some(reason.into()),
            ..Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Unexpected error occurred",
            )
        }
    }
}

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Failure {
        match error {
            ServiceError::Invalid(message) => Failure::bad_request(message),
            ServiceError::Forbidden(reason) => Failure::forbidden(reason),
            ServiceError::NotFound(what) => Failure::not_found(what),
            ServiceError::Refused { code, message } => Failure {
                message_code: Some(code),
                ..Failure::bad_request(message).attributed_to(System::Traceability)
            },
            ServiceError::Auth(error) => Failure::auth(error),
            internal @ (ServiceError::NotSetUp
            | ServiceError::Store(_)
            | ServiceError::Internal(_)) => Failure::internal(internal.to_string()),
        }
    }
}

/// The request a failure belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) system: System,
    pub(crate) method: Method,
    pub(crate) data_target: Option<String>,
    pub(crate) operator_id: Option<Uuid>,
    pub(crate) track: Uuid,
    pub(crate) at: DateTime<Utc>,
}

impl Context {
    pub(crate) fn new(system: System, method: Method, at: DateTime<Utc>) -> Context {
        Context {
            system,
            method,
            data_target: None,
            operator_id: None,
            track: Uuid::new_v4(),
            at,
        }
    }

    fn detail(&self) -> String {
        let id = self
            .operator_id
            .map(|id| id.to_string())
            .unwrap_or_default();
        let at = self.at.format("%Y-%m-%dT%H:%M:%S%.3fZ");
        match &self.data_target {
            Some(target) => format!(
                "id: {id}, timeStamp: {at}, dataTarget: {target}, method: {}",
                self.method
            ),
            None => format!("id: {id}, timeStamp: {at}, method: {}", self.method),
        }
    }

    pub(crate) fn track_header(&self) -> HeaderValue {
        HeaderValue::from_str(&self.track.to_string()).unwrap_or(HeaderValue::from_static(""))
    }
}

/// A failure answered for one request: the one place Ouranos errors become responses.
pub(crate) struct OuranosError {
    pub(crate) failure: Failure,
    pub(crate) context: Context,
}

impl IntoResponse for OuranosError {
    fn into_response(self) -> Response {
        let OuranosError { failure, context } = self;
        let system = failure.system.unwrap_or(context.system);
        if let Some(internal) = &failure.internal {
            if failure.status.is_server_error() {
                tracing::error!(track = %context.track, error = %internal, "Ouranos API request failed");
            } else {
                tracing::info!(track = %context.track, reason = %internal, "Ouranos API request refused");
            }
        }
        let status_name = match failure.status {
            StatusCode::BAD_REQUEST => "BadRequest",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "AccessDenied",
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
            _ => "InternalServerError",
        };
        let detail = match failure.message_code {
            Some(code) => code.to_owned(),
            None => context.detail(),
        };
        let body = json!({
            "code": format!("{} {status_name}", system.prefix()),
            "message": failure.message,
            "detail": detail,
        });
        (
            failure.status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (
                    header::HeaderName::from_static("x-track"),
                    context.track_header(),
                ),
            ],
            body.to_string(),
        )
            .into_response()
    }
}
