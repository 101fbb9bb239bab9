//! What the app routes mounted beside the management API share with it: the `X-Api-Key`
//! check and `application/problem+json` answers.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// A management error: its status and the text for the caller.
pub(crate) struct Problem(pub(crate) StatusCode, pub(crate) String);

impl Problem {
    /// An error of ours: logged under a reference the caller gets instead of the detail.
    pub(crate) fn internal(what: &str, error: &dyn std::fmt::Display) -> Problem {
        let reference = uuid::Uuid::new_v4();
        tracing::error!(%reference, %error, "{what} failed");
        Problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error (reference {reference})"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        tsunagu_server::management_problem(self.0, self.1)
    }
}

/// Refuses a call without the management API key.
pub(crate) fn authorize(headers: &HeaderMap, api_key: &str) -> Result<(), Problem> {
    if tsunagu_server::management_key_matches(headers, api_key) {
        Ok(())
    } else {
        Err(Problem(
            StatusCode::UNAUTHORIZED,
            "a valid X-Api-Key is required".into(),
        ))
    }
}
