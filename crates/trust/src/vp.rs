//! Verifiable presentations (VC Data Model 2.0) secured as `vp+jwt`.
//!
//! The payload is the presentation: `holder` and `verifiableCredential`, where each credential
//! is an `EnvelopedVerifiableCredential` whose `id` is `data:application/vc+jwt,<jwt>`. The
//! JWT claims `iss` (= holder), `aud`, `nonce`, `iat`, `exp` and `jti` bind it to one verifier
//! and a short lifetime.

use chrono::{DateTime, Duration, Utc};
use rand::{CryptoRng, RngCore};
use serde_json::{Map, Value, json};

use crate::TrustError;
use crate::did::{Relationship, resolve_checked, truncate_for_message};
use crate::jws::{self, JwsHeader};
use crate::keys::KeyPair;
use crate::vc::{
    CLOCK_SKEW, TrustContext, VC_CONTEXT_V2, VerifiedCredential, numeric_date, verify_vc_jwt,
};

/// The JWS `typ` of a secured presentation.
pub const VP_JWT_TYP: &str = "vp+jwt";
/// The presentation type.
pub const VERIFIABLE_PRESENTATION: &str = "VerifiablePresentation";
/// The type of a credential carried as a `data:` URL.
pub const ENVELOPED_CREDENTIAL: &str = "EnvelopedVerifiableCredential";
/// The `data:` URL prefix of an enveloped `vc+jwt`.
const VC_JWT_DATA_URL_PREFIX: &str = "data:application/vc+jwt,";

/// A presentation carrying more credentials than this is refused: each one costs a DID
/// resolution and possibly a status list fetch.
pub const MAX_CREDENTIALS_PER_PRESENTATION: usize = 64;

/// What a presentation is made for.
#[derive(Clone, Copy, Debug)]
pub struct PresentationTarget<'a> {
    /// The verifier's DID (`aud`).
    pub audience: &'a str,
    /// The verifier's nonce, when it sent one.
    pub nonce: Option<&'a str>,
    /// `exp - iat`.
    pub lifetime: Duration,
}

/// Signs a `vp+jwt` by `holder_did` with `key` (header `kid` = `<holder_did>#<kid>`),
/// enveloping `credentials` (each a `vc+jwt`).
pub fn make_vp_jwt<R: RngCore + CryptoRng>(
    holder_did: &str,
    key: &KeyPair,
    credentials: &[String],
    target: &PresentationTarget<'_>,
    now: DateTime<Utc>,
    rng: &mut R,
) -> String {
    let enveloped: Vec<Value> = credentials
        .iter()
        .map(|jwt| {
            json!({
                "@context": VC_CONTEXT_V2,
                "type": ENVELOPED_CREDENTIAL,
                "id": format!("{VC_JWT_DATA_URL_PREFIX}{jwt}"),
            })
        })
        .collect();
    let mut payload = json!({
        "@context": [VC_CONTEXT_V2],
        "type": [VERIFIABLE_PRESENTATION],
        "holder": holder_did,
        "verifiableCredential": enveloped,
        "iss": holder_did,
        "aud": target.audience,
        "iat": now.timestamp(),
        "exp": (now + target.lifetime).timestamp(),
        "jti": crate::dcp::random_urn_uuid(rng),
    });
    if let Some(nonce) = target.nonce {
        payload["nonce"] = Value::String(nonce.to_owned());
    }
    let header = JwsHeader::new(VP_JWT_TYP, crate::did::key_id_url(holder_did, key));
    jws::sign(header, &payload, key)
}

/// What the verifier expects of a presentation.
#[derive(Clone, Copy, Debug)]
pub struct PresentationExpectations<'a> {
    /// The verifier's own DID; `aud` must name it.
    pub audience: &'a str,
    /// The party whose presentation this must be (the DID of its self-issued ID token).
    pub holder: &'a str,
    /// The nonce the verifier sent, if any; the presentation must repeat it.
    pub nonce: Option<&'a str>,
}

/// A presentation whose signature, audience, nonce, lifetime, credentials and holder binding
/// were checked by [`verify_vp_jwt`]. Only this crate can build one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedPresentation {
    /// The holder's DID.
    pub holder: String,
    /// The presented credentials, each verified.
    pub credentials: Vec<VerifiedCredential>,
}

/// Verifies a `vp+jwt`:
///
/// 1. `typ` is `vp+jwt`; `holder` (or `iss`) is the expected holder, and `iss`, when present,
///    agrees with `holder`;
/// 2. the `kid` names a key of the holder's DID listed under `authentication`, and the
///    signature verifies with it;
/// 3. the payload is a VC 2.0 `VerifiablePresentation`;
/// 4. `aud` names the verifier; `exp` is present and not past, `nbf` not ahead, `iat` not in the
///    future (with [`CLOCK_SKEW`]);
/// 5. `nonce` equals the expected one, when the verifier sent one;
/// 6. every credential verifies ([`verify_vc_jwt`]) and is about the holder: each
///    `credentialSubject.id` equals the holder's DID.
pub async fn verify_vp_jwt(
    jwt: &str,
    expected: &PresentationExpectations<'_>,
    context: &TrustContext<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedPresentation, TrustError> {
    let (header, unverified) = jws::decode_unverified(jwt)?;
    if header.typ.as_deref() != Some(VP_JWT_TYP) {
        return Err(TrustError::WrongTokenType {
            expected: VP_JWT_TYP,
            found: header.typ,
        });
    }
    let holder = claimed_holder(&unverified)?;
    if holder != expected.holder {
        return Err(TrustError::UnexpectedHolder {
            expected: expected.holder.to_owned(),
            found: truncate_for_message(&holder),
        });
    }
    let document = resolve_checked(context.resolver, &holder).await?;
    let key = document.key_for(header.kid.as_deref(), Relationship::Authentication)?;
    let (_, payload) = jws::verify(jwt, &key)?;
    let Value::Object(claims) = payload else {
        return Err(TrustError::MalformedJws(
            "payload is not a JSON object".to_owned(),
        ));
    };

    check_presentation_shape(&claims)?;
    check_audience(&claims, expected.audience)?;
    check_lifetime(&claims, now)?;
    if let Some(expected_nonce) = expected.nonce {
        let found = claims.get("nonce").and_then(Value::as_str);
        if found != Some(expected_nonce) {
            return Err(TrustError::NonceMismatch {
                expected: expected_nonce.to_owned(),
                found: found.map(truncate_for_message),
            });
        }
    }

    let enveloped = enveloped_credentials(&claims)?;
    let mut credentials = Vec::with_capacity(enveloped.len());
    for credential_jwt in enveloped {
        let credential = verify_vc_jwt(credential_jwt, context, now).await?;
        for subject in credential.subject_ids() {
            if subject != Some(holder.as_str()) {
                return Err(TrustError::HolderBinding {
                    credential: credential
                        .id
                        .clone()
                        .unwrap_or_else(|| "(no id)".to_owned()),
                    subject: subject
                        .map_or_else(|| "(no subject id)".to_owned(), truncate_for_message),
                    holder,
                });
            }
        }
        credentials.push(credential);
    }
    Ok(VerifiedPresentation {
        holder,
        credentials,
    })
}

/// `holder`, or `iss` when `holder` is absent; both present and different is an error.
fn claimed_holder(payload: &Value) -> Result<String, TrustError> {
    let holder = match payload.get("holder") {
        Some(Value::String(holder)) => Some(holder.as_str()),
        Some(Value::Object(holder)) => holder.get("id").and_then(Value::as_str),
        Some(_) => {
            return Err(TrustError::InvalidClaim {
                claim: "holder",
                reason: "must be a DID string or an object with an id".to_owned(),
            });
        }
        None => None,
    };
    let iss = payload.get("iss").and_then(Value::as_str);
    match (holder, iss) {
        (Some(holder), Some(iss)) if holder != iss => Err(TrustError::InvalidClaim {
            claim: "iss",
            reason: format!(
                "{} differs from the presentation's holder {}",
                truncate_for_message(iss),
                truncate_for_message(holder)
            ),
        }),
        (Some(holder), _) | (None, Some(holder)) => Ok(holder.to_owned()),
        (None, None) => Err(TrustError::MissingClaim("holder")),
    }
}

fn check_presentation_shape(claims: &Map<String, Value>) -> Result<(), TrustError> {
    let invalid = |reason: String| TrustError::InvalidCredential {
        what: "presentation",
        reason,
    };
    let first_context = match claims.get("@context") {
        Some(Value::Array(contexts)) => contexts.first().and_then(Value::as_str),
        Some(Value::String(context)) => Some(context.as_str()),
        _ => None,
    };
    if first_context != Some(VC_CONTEXT_V2) {
        return Err(invalid(format!(
            "the first @context must be {VC_CONTEXT_V2}"
        )));
    }
    let is_presentation = match claims.get("type") {
        Some(Value::String(t)) => t == VERIFIABLE_PRESENTATION,
        Some(Value::Array(types)) => types.iter().any(|t| t == VERIFIABLE_PRESENTATION),
        _ => false,
    };
    if !is_presentation {
        return Err(invalid(format!(
            "type must include {VERIFIABLE_PRESENTATION}"
        )));
    }
    Ok(())
}

pub(crate) fn check_audience(
    claims: &Map<String, Value>,
    expected: &str,
) -> Result<(), TrustError> {
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            return Err(TrustError::InvalidClaim {
                claim: "aud",
                reason: "must be a string or an array of strings".to_owned(),
            });
        }
        None => return Err(TrustError::MissingClaim("aud")),
    };
    if audiences.iter().any(|aud| aud == expected) {
        Ok(())
    } else {
        Err(TrustError::WrongAudience {
            expected: expected.to_owned(),
            found: audiences.iter().map(|a| truncate_for_message(a)).collect(),
        })
    }
}

fn check_lifetime(claims: &Map<String, Value>, now: DateTime<Utc>) -> Result<(), TrustError> {
    let exp = numeric_date(claims, "exp")?.ok_or(TrustError::MissingClaim("exp"))?;
    if now >= exp + CLOCK_SKEW {
        return Err(TrustError::Expired {
            what: "presentation".to_owned(),
            at: exp,
        });
    }
    if let Some(from) = numeric_date(claims, "nbf")? {
        if now + CLOCK_SKEW < from {
            return Err(TrustError::NotYetValid {
                what: "presentation".to_owned(),
                from,
            });
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if now + CLOCK_SKEW < iat {
            return Err(TrustError::IssuedInFuture { iat });
        }
    }
    Ok(())
}

/// The `vc+jwt`s of `verifiableCredential`: enveloped credentials, or bare JWT strings.
fn enveloped_credentials(claims: &Map<String, Value>) -> Result<Vec<&str>, TrustError> {
    let invalid = |reason: String| TrustError::InvalidCredential {
        what: "presentation",
        reason,
    };
    let entries: Vec<&Value> = match claims.get("verifiableCredential") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.iter().collect(),
        Some(one) => vec![one],
    };
    if entries.len() > MAX_CREDENTIALS_PER_PRESENTATION {
        return Err(invalid(format!(
            "carries {} credentials, more than the {MAX_CREDENTIALS_PER_PRESENTATION} accepted",
            entries.len()
        )));
    }
    entries
        .into_iter()
        .map(|entry| match entry {
            Value::String(jwt) => Ok(jwt.as_str()),
            Value::Object(object) => {
                let is_enveloped = match object.get("type") {
                    Some(Value::String(t)) => t == ENVELOPED_CREDENTIAL,
                    Some(Value::Array(types)) => types.iter().any(|t| t == ENVELOPED_CREDENTIAL),
                    _ => false,
                };
                if !is_enveloped {
                    return Err(invalid(format!(
                        "verifiableCredential entries must be {ENVELOPED_CREDENTIAL} (embedded credentials carry no proof this crate checks)"
                    )));
                }
                object
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| id.strip_prefix(VC_JWT_DATA_URL_PREFIX))
                    .ok_or_else(|| {
                        invalid(format!(
                            "an {ENVELOPED_CREDENTIAL} id must start with {VC_JWT_DATA_URL_PREFIX}"
                        ))
                    })
            }
            _ => Err(invalid(
                "verifiableCredential entries must be objects or strings".to_owned(),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn made_presentation_has_the_vc2_shape() {
        let key = KeyPair::from_secret_bytes(&[1; 32]);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let jwt = make_vp_jwt(
            "did:web:a.example",
            &key,
            &["h.p.s".to_owned()],
            &PresentationTarget {
                audience: "did:web:b.example",
                nonce: Some("n-1"),
                lifetime: Duration::minutes(5),
            },
            now,
            &mut rng,
        );
        let (header, payload) = jws::decode_unverified(&jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some("vp+jwt"));
        assert_eq!(header.kid, Some(format!("did:web:a.example#{}", key.kid())));
        assert_eq!(payload["@context"], json!([VC_CONTEXT_V2]));
        assert_eq!(payload["type"], json!(["VerifiablePresentation"]));
        assert_eq!(payload["holder"], "did:web:a.example");
        assert_eq!(payload["iss"], "did:web:a.example");
        assert_eq!(payload["aud"], "did:web:b.example");
        assert_eq!(payload["nonce"], "n-1");
        assert_eq!(payload["exp"], now.timestamp() + 300);
        assert!(payload["jti"].as_str().unwrap().starts_with("urn:uuid:"));
        assert_eq!(
            payload["verifiableCredential"],
            json!([{
                "@context": VC_CONTEXT_V2,
                "type": "EnvelopedVerifiableCredential",
                "id": "data:application/vc+jwt,h.p.s"
            }])
        );
    }

    /// Servers await these futures inside request handlers, which must be `Send`.
    #[test]
    fn verification_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let resolver = crate::did::StaticResolver::new();
        let status_lists = crate::status_list::StaticStatusLists::new();
        let trusted_issuers = crate::vc::TrustedIssuers::new();
        let context = TrustContext {
            resolver: &resolver,
            status_lists: &status_lists,
            trusted_issuers: &trusted_issuers,
        };
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let expectations = PresentationExpectations {
            audience: "a",
            holder: "h",
            nonce: None,
        };
        assert_send(&verify_vp_jwt("x", &expectations, &context, now));
        assert_send(&verify_vc_jwt("x", &context, now));
        let cache = crate::dcp::ReplayCache::default();
        assert_send(&crate::dcp::verify_self_issued_token(
            "x", "a", &resolver, &cache, now,
        ));
    }

    #[test]
    fn holder_and_iss_must_agree() {
        assert_eq!(
            claimed_holder(&json!({"holder": "did:web:a", "iss": "did:web:a"})).unwrap(),
            "did:web:a"
        );
        assert_eq!(
            claimed_holder(&json!({"iss": "did:web:a"})).unwrap(),
            "did:web:a"
        );
        assert!(claimed_holder(&json!({"holder": "did:web:a", "iss": "did:web:b"})).is_err());
        assert!(claimed_holder(&json!({})).is_err());
    }

    #[test]
    fn envelopes_are_unwrapped_and_other_entries_refused() {
        let claims = |vc: Value| -> Map<String, Value> {
            serde_json::from_value(json!({ "verifiableCredential": vc })).unwrap()
        };
        assert_eq!(
            enveloped_credentials(&claims(json!([
                {"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,a.b.c"},
                "d.e.f"
            ])))
            .unwrap(),
            vec!["a.b.c", "d.e.f"]
        );
        assert!(enveloped_credentials(&claims(json!([{"type": "VerifiableCredential"}]))).is_err());
        assert!(
            enveloped_credentials(&claims(json!([
                {"type": "EnvelopedVerifiableCredential", "id": "data:application/vp+jwt,x"}
            ])))
            .is_err()
        );
        let too_many: Vec<Value> = (0..=MAX_CREDENTIALS_PER_PRESENTATION)
            .map(|_| json!("a.b.c"))
            .collect();
        assert!(enveloped_credentials(&claims(Value::Array(too_many))).is_err());
    }
}
