//! The authentication seam. Every DSP handler receives a `Caller`, which only an
//! `Authenticator` can produce; swapping the authenticator (development header today, DCP
//! self-issued tokens with the identity work) changes no handler.

use std::collections::BTreeMap;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tsunagu_engine::VerifiedCaller;

use crate::AppState;
use crate::dsp::error::DspError;

/// Establishes who is calling from a request's headers.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    async fn authenticate(&self, parts: &Parts) -> Result<VerifiedCaller, AuthFailure>;
}

/// Why a request could not be authenticated; safe to tell the caller.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct AuthFailure(pub String);

/// Development only: believes the `X-Tsunagu-Participant` header (and attributes from
/// `X-Tsunagu-Attributes: role=cellMaker;membership=active`). Anyone can claim any identity
/// with it, so the connector refuses to start with it unless `dev_insecure_identity = true`.
#[derive(Debug, Clone, Default)]
pub struct DevHeaderAuthenticator;

/// The headers the development authenticator reads and the HTTP peer writes.
pub struct CallerIdentityHeaders;

impl CallerIdentityHeaders {
    pub const PARTICIPANT: &'static str = "x-tsunagu-participant";
    pub const ATTRIBUTES: &'static str = "x-tsunagu-attributes";
}

/// Parses `name=value;name=value2;other=x` into multi-valued attributes.
pub(crate) fn parse_attributes(text: &str) -> Result<BTreeMap<String, Vec<String>>, AuthFailure> {
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| AuthFailure(format!("attribute {pair:?} is not name=value")))?;
        attributes
            .entry(name.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    Ok(attributes)
}

#[async_trait]
impl Authenticator for DevHeaderAuthenticator {
    async fn authenticate(&self, parts: &Parts) -> Result<VerifiedCaller, AuthFailure> {
        let participant = parts
            .headers
            .get(CallerIdentityHeaders::PARTICIPANT)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                AuthFailure(format!(
                    "no caller identity: this development connector expects the {} header",
                    CallerIdentityHeaders::PARTICIPANT
                ))
            })?;
        let attributes = match parts.headers.get(CallerIdentityHeaders::ATTRIBUTES) {
            Some(value) => parse_attributes(
                value
                    .to_str()
                    .map_err(|_| AuthFailure("attributes header is not text".into()))?,
            )?,
            None => BTreeMap::new(),
        };
        Ok(VerifiedCaller::authenticated(
            participant.to_owned(),
            attributes,
        ))
    }
}

/// The authenticated counter-party of a DSP request.
pub(crate) struct Caller(pub(crate) VerifiedCaller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = DspError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state
            .authenticator
            .authenticate(parts)
            .await
            .map(Caller)
            .map_err(|failure| DspError::unauthenticated(parts.uri.path(), failure.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_multi_valued() {
        let parsed = parse_attributes("role=cellMaker; role=packMaker;membership=active").unwrap();
        assert_eq!(parsed["role"], vec!["cellMaker", "packMaker"]);
        assert_eq!(parsed["membership"], vec!["active"]);
        assert!(parse_attributes("nonsense").is_err());
    }
}
