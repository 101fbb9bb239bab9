//! The management API key check.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ManagementError;
use crate::AppState;

/// The header that carries the management API key, as in EDC.
pub(crate) const API_KEY_HEADER: &str = "x-api-key";

/// Proof that a request carried the management API key. Every management handler takes one
/// as its first argument; a test sends every route of the table a request without the key.
pub(crate) struct Authorized;

impl FromRequestParts<AppState> for Authorized {
    type Rejection = ManagementError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if api_key_matches(&parts.headers, &state.management_api_key) {
            Ok(Authorized)
        } else {
            Err(ManagementError::unauthorized())
        }
    }
}

/// Whether `headers` carry the management API key `expected`.
pub(crate) fn api_key_matches(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    let expected = expected.as_bytes();
    match headers.get(API_KEY_HEADER).map(|value| value.as_bytes()) {
        // An empty configured key would let an empty header in; refuse everything instead.
        Some(presented) => !expected.is_empty() && constant_time_eq(presented, expected),
        None => false,
    }
}

/// Compares two byte strings in time that depends only on their lengths, so that a caller
/// cannot find the key byte by byte from response times. The length itself is not secret.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    if presented.len() != expected.len() {
        return false;
    }
    let difference = presented
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (left, right)| acc | (left ^ right));
    // Keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_every_byte_is_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"Secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(constant_time_eq(b"", b""));
    }
}
