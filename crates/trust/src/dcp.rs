//! The Decentralized Claims Protocol 1.0: self-issued ID tokens (base protocol) and the
//! messages of the presentation query API (verifiable presentation protocol).
//!
//! A participant authenticates each DSP request with a self-issued ID token: a JWT it signs
//! itself, with `iss = sub =` its DID, `aud =` the verifier's DID, a fresh `jti`, a short
//! lifetime and optionally a `token` the verifier passes on to the participant's credential
//! service to fetch its presentations.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::TrustError;
use crate::did::{DCP_CONTEXT, DidResolver, Relationship, resolve_checked, truncate_for_message};
use crate::jws::{self, JwsHeader};
use crate::keys::KeyPair;
use crate::vc::{CLOCK_SKEW, numeric_date};

/// The `typ` of a self-issued ID token.
pub const SELF_ISSUED_TOKEN_TYP: &str = "JWT";
/// The longest lifetime [`issue_self_issued_token`] signs, and the default a
/// [`ReplayCache`] accepts.
pub const MAX_SELF_ISSUED_LIFETIME: Duration = Duration::minutes(5);
/// The default capacity of a [`ReplayCache`].
pub const DEFAULT_REPLAY_CACHE_CAPACITY: usize = 100_000;

/// The scope alias for "credentials of this type".
pub const SCOPE_ALIAS_VC_TYPE: &str = "org.eclipse.dspace.dcp.vc.type";
/// The scope alias for "the credential with this id".
pub const SCOPE_ALIAS_VC_ID: &str = "org.eclipse.dspace.dcp.vc.id";

// ------------------------------------------------------------------------------------------
// Self-issued ID tokens
// ------------------------------------------------------------------------------------------

/// The claims of a self-issued ID token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfIssuedClaims {
    /// The participant's DID.
    pub iss: String,
    /// The participant's DID (equal to `iss`).
    pub sub: String,
    /// The verifier's DID (a one-element array is accepted on parsing).
    #[serde(deserialize_with = "single_audience")]
    pub aud: String,
    /// Unique token id, for replay detection.
    pub jti: String,
    /// Issued at.
    #[serde(with = "numeric_date_serde")]
    pub iat: DateTime<Utc>,
    /// Expires at.
    #[serde(with = "numeric_date_serde")]
    pub exp: DateTime<Utc>,
    /// Not before, when present.
    #[serde(
        default,
        with = "optional_numeric_date_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<DateTime<Utc>>,
    /// Access token for the participant's credential service (opaque to the verifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Signs a self-issued ID token for `did` (header `typ: JWT`, `kid: <did>#<kid>`), addressed to
/// `audience`, valid from `now` for `lifetime` (at most [`MAX_SELF_ISSUED_LIFETIME`]), with a
/// random `jti` and, when given, the credential-service access token as `token`.
pub fn issue_self_issued_token<R: RngCore + CryptoRng>(
    key: &KeyPair,
    did: &str,
    audience: &str,
    access_token: Option<&str>,
    now: DateTime<Utc>,
    lifetime: Duration,
    rng: &mut R,
) -> Result<String, TrustError> {
    if lifetime > MAX_SELF_ISSUED_LIFETIME || lifetime <= Duration::zero() {
        return Err(TrustError::LifetimeTooLong {
            seconds: lifetime.num_seconds(),
            max_seconds: MAX_SELF_ISSUED_LIFETIME.num_seconds(),
        });
    }
    let claims = SelfIssuedClaims {
        iss: did.to_owned(),
        sub: did.to_owned(),
        aud: audience.to_owned(),
        jti: random_urn_uuid(rng),
        iat: now,
        exp: now + lifetime,
        nbf: None,
        token: access_token.map(str::to_owned),
    };
    // A struct of strings and integers always serialises.
    let payload = serde_json::to_value(&claims).unwrap_or_default();
    let header = JwsHeader::new(SELF_ISSUED_TOKEN_TYP, crate::did::key_id_url(did, key));
    Ok(jws::sign(header, &payload, key))
}

/// Verifies a self-issued ID token by the steps of DCP 1.0 ("Validating Self-Issued ID
/// Tokens"):
///
/// 1. `iss` equals `sub`;
/// 2. `aud` is `own_did`;
/// 3. the key is chosen from the `sub` DID document by the `kid` rules
///    ([`crate::did::DidDocument::key_for`]) and must be listed under `capabilityInvocation`;
///    the signature verifies with it;
/// 4. the document's `id` is `sub`;
/// 5. `nbf` (if present) and `exp` hold with [`CLOCK_SKEW`]; `iat` is not in the future; the
///    lifetime `exp - iat` is at most the cache's maximum;
/// 6. `jti` was not used before by this issuer (remembered only after the signature
///    verified, so that nobody can burn another party's token ids).
///
/// The header `typ`, when present, must be `JWT`.
pub async fn verify_self_issued_token(
    token: &str,
    own_did: &str,
    resolver: &dyn DidResolver,
    replay_cache: &ReplayCache,
    now: DateTime<Utc>,
) -> Result<SelfIssuedClaims, TrustError> {
    let (header, unverified) = jws::decode_unverified(token)?;
    if let Some(typ) = &header.typ {
        if !typ.eq_ignore_ascii_case(SELF_ISSUED_TOKEN_TYP) {
            return Err(TrustError::WrongTokenType {
                expected: SELF_ISSUED_TOKEN_TYP,
                found: Some(typ.clone()),
            });
        }
    }
    let claims_map = match &unverified {
        Value::Object(map) => map,
        _ => {
            return Err(TrustError::MalformedJws(
                "payload is not a JSON object".to_owned(),
            ));
        }
    };
    let iss = string_claim(claims_map, "iss")?;
    let sub = string_claim(claims_map, "sub")?;
    if iss != sub {
        return Err(TrustError::IssuerSubjectMismatch {
            iss: truncate_for_message(iss),
            sub: truncate_for_message(sub),
        });
    }
    crate::vp::check_audience(claims_map, own_did)?;

    let document = resolve_checked(resolver, sub).await?;
    let key = document.key_for(header.kid.as_deref(), Relationship::CapabilityInvocation)?;
    let (_, payload) = jws::verify(token, &key)?;
    let Value::Object(payload) = payload else {
        return Err(TrustError::MalformedJws(
            "payload is not a JSON object".to_owned(),
        ));
    };
    // Required claims get precise messages before serde's generic ones.
    for claim in ["jti", "iat", "exp"] {
        if !payload.contains_key(claim) {
            return Err(TrustError::MissingClaim(claim));
        }
    }
    let exp = numeric_date(&payload, "exp")?.ok_or(TrustError::MissingClaim("exp"))?;
    let iat = numeric_date(&payload, "iat")?.ok_or(TrustError::MissingClaim("iat"))?;
    let nbf = numeric_date(&payload, "nbf")?;
    let claims: SelfIssuedClaims =
        serde_json::from_value(Value::Object(payload)).map_err(|error| {
            TrustError::InvalidClaim {
                claim: "self-issued ID token",
                reason: error.to_string(),
            }
        })?;

    if let Some(from) = nbf {
        if now + CLOCK_SKEW < from {
            return Err(TrustError::NotYetValid {
                what: "self-issued ID token".to_owned(),
                from,
            });
        }
    }
    if now >= exp + CLOCK_SKEW {
        return Err(TrustError::Expired {
            what: "self-issued ID token".to_owned(),
            at: exp,
        });
    }
    if now + CLOCK_SKEW < iat {
        return Err(TrustError::IssuedInFuture { iat });
    }
    let lifetime = exp - iat;
    if lifetime > replay_cache.max_token_lifetime() {
        return Err(TrustError::LifetimeTooLong {
            seconds: lifetime.num_seconds(),
            max_seconds: replay_cache.max_token_lifetime().num_seconds(),
        });
    }
    replay_cache.remember(&claims.iss, &claims.jti, exp, now)?;
    Ok(claims)
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    claim: &'static str,
) -> Result<&'a str, TrustError> {
    match claims.get(claim) {
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(TrustError::InvalidClaim {
            claim,
            reason: "must be a string".to_owned(),
        }),
        None => Err(TrustError::MissingClaim(claim)),
    }
}

/// The token ids seen recently, per issuer, each kept until its token expires (plus
/// [`CLOCK_SKEW`]). Bounded: when `capacity` unexpired ids are held, further tokens are
/// refused rather than old ids forgotten, because forgetting would re-open replay.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    max_token_lifetime: Duration,
    seen: Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

impl Default for ReplayCache {
    fn default() -> ReplayCache {
        ReplayCache::new(DEFAULT_REPLAY_CACHE_CAPACITY, MAX_SELF_ISSUED_LIFETIME)
    }
}

impl ReplayCache {
    /// A cache of at most `capacity` ids that accepts tokens living at most
    /// `max_token_lifetime` (which bounds how long an id must be kept).
    pub fn new(capacity: usize, max_token_lifetime: Duration) -> ReplayCache {
        ReplayCache {
            capacity,
            max_token_lifetime,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The longest `exp - iat` accepted.
    pub fn max_token_lifetime(&self) -> Duration {
        self.max_token_lifetime
    }

    /// The number of ids held (expired ones included until the next clean-up).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Records `jti` of `issuer`, valid until `exp`; an error if it was seen before or the
    /// cache is full.
    pub fn remember(
        &self,
        issuer: &str,
        jti: &str,
        exp: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), TrustError> {
        let mut seen = self.lock();
        let key = (issuer.to_owned(), jti.to_owned());
        if let Some(kept_until) = seen.get(&key) {
            if now < *kept_until {
                return Err(TrustError::Replayed {
                    issuer: truncate_for_message(issuer),
                    jti: truncate_for_message(jti),
                });
            }
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, kept_until| now < *kept_until);
            if seen.len() >= self.capacity {
                return Err(TrustError::ReplayCacheFull {
                    capacity: self.capacity,
                });
            }
        }
        seen.insert(key, exp + CLOCK_SKEW);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), DateTime<Utc>>> {
        // A panic elsewhere while holding the lock leaves a consistent map behind.
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A random version-4 UUID as `urn:uuid:...`.
pub(crate) fn random_urn_uuid<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn single_audience<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(deserializer)? {
        Value::String(aud) => Ok(aud),
        Value::Array(mut many) if many.len() == 1 => match many.pop() {
            Some(Value::String(aud)) => Ok(aud),
            _ => Err(D::Error::custom("aud must be a string")),
        },
        _ => Err(D::Error::custom(
            "aud must be one string (the verifier's DID)",
        )),
    }
}

mod numeric_date_serde {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        at: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(at.timestamp())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        use serde::de::Error as _;
        let seconds = f64::deserialize(deserializer)?;
        if !seconds.is_finite() {
            return Err(D::Error::custom("NumericDate must be finite"));
        }
        DateTime::from_timestamp(seconds.floor() as i64, 0)
            .ok_or_else(|| D::Error::custom("NumericDate out of range"))
    }
}

mod optional_numeric_date_serde {
    use chrono::{DateTime, Utc};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_i64(at.timestamp()),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        super::numeric_date_serde::deserialize(deserializer).map(Some)
    }
}

// ------------------------------------------------------------------------------------------
// Scopes
// ------------------------------------------------------------------------------------------

/// A DCP scope: `org.eclipse.dspace.dcp.vc.type:<Type>[:read]` or
/// `org.eclipse.dspace.dcp.vc.id:<id>[:read]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read access to credentials of this type.
    CredentialType(String),
    /// Read access to the credential with this id.
    CredentialId(String),
}

impl Scope {
    /// Parses a scope. Only the two aliases DCP requires are understood, and only read access
    /// (an optional `:read` suffix).
    pub fn parse(text: &str) -> Result<Scope, TrustError> {
        let invalid = |reason: &str| TrustError::InvalidScope {
            scope: truncate_for_message(text),
            reason: reason.to_owned(),
        };
        let (alias, rest) = if let Some(rest) = text.strip_prefix(SCOPE_ALIAS_VC_TYPE) {
            (SCOPE_ALIAS_VC_TYPE, rest)
        } else if let Some(rest) = text.strip_prefix(SCOPE_ALIAS_VC_ID) {
            (SCOPE_ALIAS_VC_ID, rest)
        } else {
            return Err(invalid(&format!(
                "alias must be {SCOPE_ALIAS_VC_TYPE} or {SCOPE_ALIAS_VC_ID}"
            )));
        };
        let Some(discriminator) = rest.strip_prefix(':') else {
            return Err(invalid("expected ':' after the alias"));
        };
        let discriminator = discriminator.strip_suffix(":read").unwrap_or(discriminator);
        if discriminator.is_empty() {
            return Err(invalid("the discriminator is empty"));
        }
        if alias == SCOPE_ALIAS_VC_TYPE {
            if discriminator.contains(':') {
                return Err(invalid("only read access (':read') is defined"));
            }
            Ok(Scope::CredentialType(discriminator.to_owned()))
        } else {
            Ok(Scope::CredentialId(discriminator.to_owned()))
        }
    }

    /// The credential type, for a type scope.
    pub fn credential_type(&self) -> Option<&str> {
        match self {
            Scope::CredentialType(credential_type) => Some(credential_type),
            Scope::CredentialId(_) => None,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::CredentialType(t) => write!(f, "{SCOPE_ALIAS_VC_TYPE}:{t}:read"),
            Scope::CredentialId(id) => write!(f, "{SCOPE_ALIAS_VC_ID}:{id}:read"),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Presentation API messages
// ------------------------------------------------------------------------------------------

/// `POST /presentations/query` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresentationQueryMessage {
    /// Must contain the DCP context.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// `PresentationQueryMessage`.
    #[serde(rename = "type")]
    pub message_type: String,
    /// Requested scopes (non-empty when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// A DIF Presentation Exchange definition (not supported by tsunagu's credential service,
    /// which answers 501, but parsed).
    #[serde(
        default,
        rename = "presentationDefinition",
        skip_serializing_if = "Option::is_none"
    )]
    pub presentation_definition: Option<Value>,
}

impl PresentationQueryMessage {
    /// The message type.
    pub const TYPE: &'static str = "PresentationQueryMessage";

    /// A query for `scopes`.
    pub fn for_scopes(scopes: &[Scope]) -> PresentationQueryMessage {
        PresentationQueryMessage {
            context: vec![DCP_CONTEXT.to_owned()],
            message_type: Self::TYPE.to_owned(),
            scope: Some(scopes.iter().map(Scope::to_string).collect()),
            presentation_definition: None,
        }
    }

    /// The rules the schema states plus the one it cannot: exactly one of `scope` and
    /// `presentationDefinition` (both present is a 400 in DCP).
    pub fn validate(&self) -> Result<(), TrustError> {
        let invalid = |reason: String| TrustError::InvalidMessage {
            message: Self::TYPE,
            reason,
        };
        if self.message_type != Self::TYPE {
            return Err(invalid(format!("type must be {}", Self::TYPE)));
        }
        if !self.context.iter().any(|c| c == DCP_CONTEXT) {
            return Err(invalid(format!("@context must contain {DCP_CONTEXT}")));
        }
        match (&self.scope, &self.presentation_definition) {
            (Some(_), Some(_)) => Err(invalid(
                "scope and presentationDefinition must not both be present".to_owned(),
            )),
            (None, None) => Err(invalid(
                "one of scope and presentationDefinition is required".to_owned(),
            )),
            (Some(scopes), None) if scopes.is_empty() => {
                Err(invalid("scope must not be empty".to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// The parsed scopes (none for a presentation-definition query).
    pub fn scopes(&self) -> Result<Vec<Scope>, TrustError> {
        self.scope
            .iter()
            .flatten()
            .map(|scope| Scope::parse(scope))
            .collect()
    }
}

/// The answer to a presentation query: `vp+jwt` strings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresentationResponseMessage {
    /// Must contain the DCP context.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// `PresentationResponseMessage`.
    #[serde(rename = "type")]
    pub message_type: String,
    /// The presentations (JWTs).
    pub presentation: Vec<String>,
    /// A DIF Presentation Exchange submission, answering a presentation definition.
    #[serde(
        default,
        rename = "presentationSubmission",
        skip_serializing_if = "Option::is_none"
    )]
    pub presentation_submission: Option<Value>,
}

impl PresentationResponseMessage {
    /// The message type.
    pub const TYPE: &'static str = "PresentationResponseMessage";

    /// A response carrying `presentations`.
    pub fn new(presentations: Vec<String>) -> PresentationResponseMessage {
        PresentationResponseMessage {
            context: vec![DCP_CONTEXT.to_owned()],
            message_type: Self::TYPE.to_owned(),
            presentation: presentations,
            presentation_submission: None,
        }
    }

    /// The type and context rules of the schema.
    pub fn validate(&self) -> Result<(), TrustError> {
        let invalid = |reason: String| TrustError::InvalidMessage {
            message: Self::TYPE,
            reason,
        };
        if self.message_type != Self::TYPE {
            return Err(invalid(format!("type must be {}", Self::TYPE)));
        }
        if !self.context.iter().any(|c| c == DCP_CONTEXT) {
            return Err(invalid(format!("@context must contain {DCP_CONTEXT}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use serde_json::json;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn scopes_parse_and_print() {
        assert_eq!(
            Scope::parse("org.eclipse.dspace.dcp.vc.type:MembershipCredential:read").unwrap(),
            Scope::CredentialType("MembershipCredential".to_owned())
        );
        assert_eq!(
            Scope::parse("org.eclipse.dspace.dcp.vc.type:Member").unwrap(),
            Scope::CredentialType("Member".to_owned())
        );
        assert_eq!(
            Scope::parse("org.eclipse.dspace.dcp.vc.id:8247b87d-8d72-47e1-8128-9ce47e3d829d")
                .unwrap(),
            Scope::CredentialId("8247b87d-8d72-47e1-8128-9ce47e3d829d".to_owned())
        );
        assert_eq!(
            Scope::CredentialType("MembershipCredential".to_owned()).to_string(),
            "org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"
        );
        for bad in [
            "presentation1",
            "org.eclipse.dspace.dcp.vc.type",
            "org.eclipse.dspace.dcp.vc.type:",
            "org.eclipse.dspace.dcp.vc.type::read",
            "org.eclipse.dspace.dcp.vc.type:X:write",
            "org.eclipse.dspace.dcp.vc.typeX:Y",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        let scope = Scope::CredentialType("X".to_owned());
        assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope);
    }

    #[test]
    fn query_message_rules() {
        let query = PresentationQueryMessage::for_scopes(&[Scope::CredentialType(
            "MembershipCredential".to_owned(),
        )]);
        query.validate().unwrap();
        assert_eq!(
            serde_json::to_value(&query).unwrap(),
            json!({
                "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                "type": "PresentationQueryMessage",
                "scope": ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"]
            })
        );
        let mut both = query.clone();
        both.presentation_definition = Some(json!({"id": "x", "input_descriptors": []}));
        assert!(both.validate().is_err());
        let mut neither = query.clone();
        neither.scope = None;
        assert!(neither.validate().is_err());
        let mut empty = query.clone();
        empty.scope = Some(vec![]);
        assert!(empty.validate().is_err());
        let mut wrong_context = query;
        wrong_context.context = vec!["https://example.com".to_owned()];
        assert!(wrong_context.validate().is_err());
    }

    #[test]
    fn self_issued_claims_round_trip_and_accept_a_one_element_audience() {
        let claims = SelfIssuedClaims {
            iss: "did:web:a".to_owned(),
            sub: "did:web:a".to_owned(),
            aud: "did:web:b".to_owned(),
            jti: "j".to_owned(),
            iat: at(0),
            exp: at(300),
            nbf: None,
            token: Some("t".to_owned()),
        };
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["iat"], 1_800_000_000);
        assert!(json.get("nbf").is_none());
        assert_eq!(
            serde_json::from_value::<SelfIssuedClaims>(json.clone()).unwrap(),
            claims
        );
        let mut array = json.clone();
        array["aud"] = json!(["did:web:b"]);
        assert_eq!(
            serde_json::from_value::<SelfIssuedClaims>(array).unwrap(),
            claims
        );
        let mut two = json;
        two["aud"] = json!(["did:web:b", "did:web:c"]);
        assert!(serde_json::from_value::<SelfIssuedClaims>(two).is_err());
    }

    #[test]
    fn issuing_refuses_long_lifetimes() {
        let key = KeyPair::from_secret_bytes(&[1; 32]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let error = issue_self_issued_token(
            &key,
            "did:web:a",
            "did:web:b",
            None,
            at(0),
            Duration::minutes(6),
            &mut rng,
        )
        .unwrap_err();
        assert!(matches!(error, TrustError::LifetimeTooLong { .. }));
    }

    #[test]
    fn replay_cache_forgets_only_expired_ids_and_stays_bounded() {
        let cache = ReplayCache::new(2, MAX_SELF_ISSUED_LIFETIME);
        cache.remember("did:web:a", "1", at(10), at(0)).unwrap();
        assert!(matches!(
            cache.remember("did:web:a", "1", at(10), at(5)),
            Err(TrustError::Replayed { .. })
        ));
        // The same jti of another issuer is another token.
        cache.remember("did:web:b", "1", at(10), at(5)).unwrap();
        // Full, nothing expired yet: refused, not forgotten.
        assert!(matches!(
            cache.remember("did:web:a", "2", at(20), at(6)),
            Err(TrustError::ReplayCacheFull { capacity: 2 })
        ));
        // Once the first two are past exp + skew they make room.
        let later = at(10) + CLOCK_SKEW;
        cache
            .remember("did:web:a", "2", later + Duration::seconds(60), later)
            .unwrap();
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn random_jti_is_a_v4_uuid_urn() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = random_urn_uuid(&mut rng);
        let b = random_urn_uuid(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a["urn:uuid:".len() + 14..][..1], "4");
    }
}
