//! Verifiable credentials (VC Data Model 2.0) secured as `vc+jwt` (VC-JOSE-COSE, "with JOSE"),
//! the DCP profile `vc20-bssl/jwt`.
//!
//! The JWS payload *is* the credential. Issuing adds the JWT claims that mirror it (`iss` =
//! `issuer`, `jti` = `id`, `sub` = `credentialSubject.id`, `nbf` = `validFrom`, `exp` =
//! `validUntil`) so that generic JWT libraries enforce the validity period too; verification
//! treats the credential's own properties as authoritative and refuses a token whose mirrors
//! contradict them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::TrustError;
use crate::did::{DidResolver, Relationship, resolve_checked, truncate_for_message};
use crate::jws::{self, JwsHeader};
use crate::keys::KeyPair;
use crate::status_list::{
    STATUS_LIST_CREDENTIAL_TYPE, STATUS_LIST_ENTRY_TYPE, StatusList, StatusListEntry,
    StatusListSource, StatusPurpose,
};

/// The VC Data Model 2.0 base context, first in every credential and presentation.
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The generic type every credential carries.
pub const VERIFIABLE_CREDENTIAL: &str = "VerifiableCredential";
/// The JWS `typ` of a secured credential.
pub const VC_JWT_TYP: &str = "vc+jwt";

/// Leeway for clock differences between issuer, holder and verifier.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// JWT claims that may mirror credential properties in a `vc+jwt` payload.
const JWT_MIRROR_CLAIMS: [&str; 6] = ["iss", "sub", "jti", "iat", "nbf", "exp"];

/// A VC Data Model 2.0 credential (unsecured). Unknown properties are kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// JSON-LD contexts; the first must be [`VC_CONTEXT_V2`].
    #[serde(rename = "@context", deserialize_with = "values_one_or_many")]
    pub context: Vec<Value>,
    /// Optional credential id (a URL or `urn:uuid:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `VerifiableCredential` plus the specific types.
    #[serde(rename = "type", deserialize_with = "strings_one_or_many")]
    pub types: Vec<String>,
    /// The issuer's DID (an object `{"id": ...}` is accepted on parsing).
    #[serde(deserialize_with = "issuer_id")]
    pub issuer: String,
    /// Start of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// The claims: an object (or an array of objects) usually with the subject's `id`.
    pub credential_subject: Value,
    /// Status entries (an object or an array on the wire; written as an object when single).
    #[serde(
        default,
        deserialize_with = "values_one_or_many",
        serialize_with = "values_object_when_single",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credential_status: Vec<Value>,
    /// Everything else (`name`, `description`, `credentialSchema`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Credential {
    /// A credential of `["VerifiableCredential", credential_type]` by `issuer` about `subject`,
    /// valid from `valid_from`, with no id, end of validity or status.
    pub fn new(
        credential_type: &str,
        issuer: &str,
        valid_from: DateTime<Utc>,
        subject: Value,
    ) -> Credential {
        Credential {
            context: vec![Value::String(VC_CONTEXT_V2.to_owned())],
            id: None,
            types: vec![VERIFIABLE_CREDENTIAL.to_owned(), credential_type.to_owned()],
            issuer: issuer.to_owned(),
            valid_from: Some(valid_from),
            valid_until: None,
            credential_subject: subject,
            credential_status: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Adds a status list entry.
    pub fn with_status(mut self, entry: &StatusListEntry) -> Credential {
        // A struct of strings and integers always serialises.
        self.credential_status
            .push(serde_json::to_value(entry).unwrap_or_default());
        self
    }

    /// The types other than `VerifiableCredential`.
    pub fn specific_types(&self) -> impl Iterator<Item = &str> {
        self.types
            .iter()
            .map(String::as_str)
            .filter(|t| *t != VERIFIABLE_CREDENTIAL)
    }

    /// The `id` of every subject (a subject without `id` yields `None`).
    fn subject_ids(&self) -> Vec<Option<&str>> {
        subject_ids(&self.credential_subject)
    }

    fn describe(&self) -> String {
        self.id
            .as_deref()
            .map_or_else(|| "(no id)".to_owned(), truncate_for_message)
    }
}

pub(crate) fn subject_ids(subject: &Value) -> Vec<Option<&str>> {
    match subject {
        Value::Array(subjects) => subjects
            .iter()
            .map(|s| s.get("id").and_then(Value::as_str))
            .collect(),
        subject => vec![subject.get("id").and_then(Value::as_str)],
    }
}

/// Secures `credential` as a `vc+jwt` signed by `issuer_key`, with header
/// `{"alg":"EdDSA","typ":"vc+jwt","kid":"<issuer_did>#<kid>"}`.
///
/// Refused: a credential whose `issuer` is not `issuer_did`, or that lacks the VC 2.0 context
/// or the `VerifiableCredential` type.
pub fn issue_vc_jwt(
    credential: &Credential,
    issuer_key: &KeyPair,
    issuer_did: &str,
) -> Result<String, TrustError> {
    if credential.issuer != issuer_did {
        return Err(TrustError::InvalidCredential {
            what: "credential",
            reason: format!(
                "issuer is {}, but it is being signed by {issuer_did}",
                credential.issuer
            ),
        });
    }
    check_shape(credential, "credential")?;
    let mut payload = match serde_json::to_value(credential) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(TrustError::InvalidCredential {
                what: "credential",
                reason: "does not serialise to a JSON object".to_owned(),
            });
        }
    };
    for claim in JWT_MIRROR_CLAIMS {
        payload.remove(claim);
    }
    payload.insert("iss".to_owned(), Value::String(issuer_did.to_owned()));
    if let Some(id) = &credential.id {
        payload.insert("jti".to_owned(), Value::String(id.clone()));
    }
    if let [Some(subject)] = credential.subject_ids().as_slice() {
        payload.insert("sub".to_owned(), Value::String((*subject).to_owned()));
    }
    if let Some(from) = credential.valid_from {
        payload.insert("nbf".to_owned(), from.timestamp().into());
    }
    if let Some(until) = credential.valid_until {
        payload.insert("exp".to_owned(), until.timestamp().into());
    }
    let header = JwsHeader::new(VC_JWT_TYP, crate::did::key_id_url(issuer_did, issuer_key));
    Ok(jws::sign(header, &Value::Object(payload), issuer_key))
}

/// Which issuers the verifier trusts for which credential types (the "trusted issuer list"
/// of the dataspace governance authority). Include `BitstringStatusListCredential` for the
/// issuers whose status lists count.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrustedIssuers {
    by_type: BTreeMap<String, BTreeSet<String>>,
}

impl TrustedIssuers {
    /// Trusts nobody.
    pub fn new() -> TrustedIssuers {
        TrustedIssuers::default()
    }

    /// Trusts `issuer_did` for `credential_type`.
    pub fn trust(&mut self, credential_type: &str, issuer_did: &str) -> &mut TrustedIssuers {
        self.by_type
            .entry(credential_type.to_owned())
            .or_default()
            .insert(issuer_did.to_owned());
        self
    }

    /// Builder form of [`TrustedIssuers::trust`].
    pub fn with(mut self, credential_type: &str, issuer_did: &str) -> TrustedIssuers {
        self.trust(credential_type, issuer_did);
        self
    }

    /// Whether `issuer_did` is trusted for `credential_type`.
    pub fn is_trusted(&self, credential_type: &str, issuer_did: &str) -> bool {
        self.by_type
            .get(credential_type)
            .is_some_and(|issuers| issuers.contains(issuer_did))
    }
}

/// What a verifier needs besides the token: how to resolve DIDs, where status lists come
/// from, and whom to trust.
#[derive(Clone, Copy)]
pub struct TrustContext<'a> {
    /// DID resolution (`did:web` over HTTPS in the server).
    pub resolver: &'a dyn DidResolver,
    /// Status list credentials by URL.
    pub status_lists: &'a dyn StatusListSource,
    /// The trusted issuer list.
    pub trusted_issuers: &'a TrustedIssuers,
}

impl std::fmt::Debug for TrustContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustContext")
            .field("trusted_issuers", self.trusted_issuers)
            .finish_non_exhaustive()
    }
}

/// A credential whose signature, validity period, issuer trust and status were checked by
/// [`verify_vc_jwt`]. Only this crate can build one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedCredential {
    /// The credential's `id`.
    pub id: Option<String>,
    /// The issuer's DID.
    pub issuer: String,
    /// The specific types (without `VerifiableCredential`) **for which the issuer is
    /// trusted**; other types the credential claims are dropped, so a credential can never
    /// widen its issuer's authority.
    pub types: Vec<String>,
    /// `credentialSubject` as issued.
    pub subject: Value,
    /// Start of validity.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity.
    pub valid_until: Option<DateTime<Utc>>,
}

impl VerifiedCredential {
    /// Whether the credential is of `credential_type` (and the issuer trusted for it).
    pub fn has_type(&self, credential_type: &str) -> bool {
        self.types.iter().any(|t| t == credential_type)
    }

    /// The `id` of every subject (a subject without `id` yields `None`).
    pub fn subject_ids(&self) -> Vec<Option<&str>> {
        subject_ids(&self.subject)
    }
}

/// Verifies a `vc+jwt`:
///
/// 1. `typ` is `vc+jwt`;
/// 2. the issuer is trusted for at least one of the credential's specific types (decided on
///    the claimed issuer and types *before* the issuer's DID is resolved, so that nobody can
///    make the verifier fetch from an address of their choosing);
/// 3. the `kid` names a key of the issuer's DID (a `kid` of another DID is refused), listed
///    under `assertionMethod`, and the signature verifies with it;
/// 4. the payload is a VC 2.0 credential and its JWT mirrors agree with it;
/// 5. `now` lies within `validFrom`..`validUntil` (and `nbf`..`exp`), with [`CLOCK_SKEW`];
/// 6. every `BitstringStatusListEntry` with purpose `revocation` or `suspension` points to a
///    clear bit of a status list credential that itself verifies (steps 1-5, its issuer
///    trusted for `BitstringStatusListCredential`). A status that cannot be checked (unknown
///    entry type, unreachable list) fails the credential.
pub async fn verify_vc_jwt(
    jwt: &str,
    context: &TrustContext<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedCredential, TrustError> {
    // The trust decision needs only the claimed issuer and types, so it comes first: an
    // untrusted issuer's DID is never resolved (no fetch from an address a stranger chose).
    let trusted = context.trusted_issuers;
    let issuer_trusted = |issuer: &str, types: &[String]| {
        let specific = types.iter().filter(|t| *t != VERIFIABLE_CREDENTIAL);
        if specific.clone().any(|t| trusted.is_trusted(t, issuer)) {
            Ok(())
        } else {
            Err(TrustError::UntrustedIssuer {
                issuer: truncate_for_message(issuer),
                types: specific.map(String::as_str).collect::<Vec<_>>().join(", "),
            })
        }
    };
    let credential = verify_secured_credential(jwt, context.resolver, issuer_trusted, now).await?;
    let types: Vec<String> = credential
        .specific_types()
        .filter(|t| context.trusted_issuers.is_trusted(t, &credential.issuer))
        .map(str::to_owned)
        .collect();
    if types.is_empty() {
        return Err(TrustError::UntrustedIssuer {
            issuer: credential.issuer.clone(),
            types: credential.specific_types().collect::<Vec<_>>().join(", "),
        });
    }
    check_status(&credential, context, now).await?;
    Ok(VerifiedCredential {
        id: credential.id,
        issuer: credential.issuer,
        types,
        subject: credential.credential_subject,
        valid_from: credential.valid_from,
        valid_until: credential.valid_until,
    })
}

/// Steps 1-5 of [`verify_vc_jwt`]: a genuine, currently valid credential.
/// `trusted_before_resolving` judges the claimed issuer and types before the issuer's DID is
/// resolved.
async fn verify_secured_credential<F>(
    jwt: &str,
    resolver: &dyn DidResolver,
    trusted_before_resolving: F,
    now: DateTime<Utc>,
) -> Result<Credential, TrustError>
where
    F: Fn(&str, &[String]) -> Result<(), TrustError>,
{
    let (header, unverified) = jws::decode_unverified(jwt)?;
    if header.typ.as_deref() != Some(VC_JWT_TYP) {
        return Err(TrustError::WrongTokenType {
            expected: VC_JWT_TYP,
            found: header.typ,
        });
    }
    let issuer = unverified_issuer(&unverified)?;
    let claimed_types: Vec<String> = match unverified.get("type") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    trusted_before_resolving(&issuer, &claimed_types)?;
    let document = resolve_checked(resolver, &issuer).await?;
    let key = document.key_for(header.kid.as_deref(), Relationship::AssertionMethod)?;
    let (_, payload) = jws::verify(jwt, &key)?;

    let Value::Object(mut payload) = payload else {
        return Err(TrustError::MalformedJws(
            "payload is not a JSON object".to_owned(),
        ));
    };
    let mirrors: Map<String, Value> = JWT_MIRROR_CLAIMS
        .iter()
        .filter_map(|claim| payload.remove(*claim).map(|v| ((*claim).to_owned(), v)))
        .collect();
    let credential: Credential =
        serde_json::from_value(Value::Object(payload)).map_err(|error| {
            TrustError::InvalidCredential {
                what: "credential",
                reason: error.to_string(),
            }
        })?;
    check_shape(&credential, "credential")?;
    check_mirrors(&credential, &mirrors)?;

    let what = || format!("credential {}", credential.describe());
    if let Some(from) = credential.valid_from {
        if now + CLOCK_SKEW < from {
            return Err(TrustError::NotYetValid { what: what(), from });
        }
    }
    if let Some(at) = credential.valid_until {
        if now >= at + CLOCK_SKEW {
            return Err(TrustError::Expired { what: what(), at });
        }
    }
    if let Some(from) = numeric_date(&mirrors, "nbf")? {
        if now + CLOCK_SKEW < from {
            return Err(TrustError::NotYetValid { what: what(), from });
        }
    }
    if let Some(at) = numeric_date(&mirrors, "exp")? {
        if now >= at + CLOCK_SKEW {
            return Err(TrustError::Expired { what: what(), at });
        }
    }
    Ok(credential)
}

/// The issuer named in an unverified payload, to know whose key to verify with.
fn unverified_issuer(payload: &Value) -> Result<String, TrustError> {
    let issuer = match payload.get("issuer") {
        Some(Value::String(issuer)) => issuer.clone(),
        Some(Value::Object(issuer)) => issuer
            .get("id")
            .and_then(Value::as_str)
            .ok_or(TrustError::MissingClaim("issuer.id"))?
            .to_owned(),
        Some(_) => {
            return Err(TrustError::InvalidClaim {
                claim: "issuer",
                reason: "must be a DID string or an object with an id".to_owned(),
            });
        }
        None => return Err(TrustError::MissingClaim("issuer")),
    };
    Ok(issuer)
}

fn check_shape(credential: &Credential, what: &'static str) -> Result<(), TrustError> {
    if credential.context.first().and_then(Value::as_str) != Some(VC_CONTEXT_V2) {
        return Err(TrustError::InvalidCredential {
            what,
            reason: format!("the first @context must be {VC_CONTEXT_V2}"),
        });
    }
    if !credential.types.iter().any(|t| t == VERIFIABLE_CREDENTIAL) {
        return Err(TrustError::InvalidCredential {
            what,
            reason: format!("type must include {VERIFIABLE_CREDENTIAL}"),
        });
    }
    if !matches!(
        credential.credential_subject,
        Value::Object(_) | Value::Array(_)
    ) {
        return Err(TrustError::InvalidCredential {
            what,
            reason: "credentialSubject must be an object or an array of objects".to_owned(),
        });
    }
    Ok(())
}

/// JWT claims may repeat credential properties but must not contradict them.
fn check_mirrors(credential: &Credential, mirrors: &Map<String, Value>) -> Result<(), TrustError> {
    let conflict = |claim: &'static str, property: &str| TrustError::InvalidClaim {
        claim,
        reason: format!("contradicts the credential's {property}"),
    };
    if let Some(iss) = mirrors.get("iss") {
        if iss.as_str() != Some(credential.issuer.as_str()) {
            return Err(conflict("iss", "issuer"));
        }
    }
    if let Some(jti) = mirrors.get("jti") {
        if jti.as_str() != credential.id.as_deref() {
            return Err(conflict("jti", "id"));
        }
    }
    if let Some(sub) = mirrors.get("sub") {
        let sub = sub.as_str();
        if !credential.subject_ids().contains(&sub) {
            return Err(conflict("sub", "credentialSubject.id"));
        }
    }
    Ok(())
}

/// A JWT NumericDate claim (seconds since the epoch, fractions allowed).
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<DateTime<Utc>>, TrustError> {
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    let invalid = || TrustError::InvalidClaim {
        claim,
        reason: "must be a number of seconds since 1970-01-01T00:00:00Z".to_owned(),
    };
    let seconds = match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .ok_or_else(invalid)?,
        _ => return Err(invalid()),
    };
    DateTime::from_timestamp(seconds, 0)
        .map(Some)
        .ok_or_else(invalid)
}

async fn check_status(
    credential: &Credential,
    context: &TrustContext<'_>,
    now: DateTime<Utc>,
) -> Result<(), TrustError> {
    for raw in &credential.credential_status {
        let entry_type = raw.get("type").and_then(Value::as_str);
        if entry_type != Some(STATUS_LIST_ENTRY_TYPE) {
            // A status the verifier cannot check must not pass as "not revoked".
            return Err(TrustError::InvalidCredential {
                what: "credential",
                reason: format!(
                    "credentialStatus of type {} is not supported (only {STATUS_LIST_ENTRY_TYPE})",
                    entry_type.unwrap_or("(none)")
                ),
            });
        }
        let entry: StatusListEntry =
            serde_json::from_value(raw.clone()).map_err(|error| TrustError::InvalidCredential {
                what: "credential",
                reason: format!("credentialStatus: {error}"),
            })?;
        // `refresh` and `message` entries say nothing about validity.
        let Some(purpose) = StatusPurpose::parse(&entry.status_purpose) else {
            continue;
        };
        if entry.status_size.is_some_and(|size| size != 1) {
            return Err(TrustError::StatusList {
                list: entry.status_list_credential.clone(),
                reason: "only statusSize 1 is supported".to_owned(),
            });
        }
        let list = fetch_status_list(&entry, purpose, context, now).await?;
        let set = list
            .get(entry.status_list_index)
            .map_err(|error| TrustError::StatusList {
                list: entry.status_list_credential.clone(),
                reason: match error {
                    TrustError::StatusList { reason, .. } => reason,
                    other => other.to_string(),
                },
            })?;
        if set {
            return Err(TrustError::Revoked {
                credential: credential.describe(),
                purpose: purpose.as_str().to_owned(),
                index: entry.status_list_index,
                list: entry.status_list_credential.clone(),
            });
        }
    }
    Ok(())
}

async fn fetch_status_list(
    entry: &StatusListEntry,
    purpose: StatusPurpose,
    context: &TrustContext<'_>,
    now: DateTime<Utc>,
) -> Result<StatusList, TrustError> {
    let url = entry.status_list_credential.as_str();
    let list_error = |reason: String| TrustError::StatusList {
        list: url.to_owned(),
        reason,
    };
    let jwt = context.status_lists.status_list_credential(url).await?;
    let trusted = context.trusted_issuers;
    let list_issuer_trusted = |issuer: &str, types: &[String]| {
        if !types.iter().any(|t| t == STATUS_LIST_CREDENTIAL_TYPE) {
            Err(list_error(format!(
                "credential is not a {STATUS_LIST_CREDENTIAL_TYPE}"
            )))
        } else if !trusted.is_trusted(STATUS_LIST_CREDENTIAL_TYPE, issuer) {
            Err(TrustError::UntrustedIssuer {
                issuer: truncate_for_message(issuer),
                types: STATUS_LIST_CREDENTIAL_TYPE.to_owned(),
            })
        } else {
            Ok(())
        }
    };
    let list_credential =
        verify_secured_credential(&jwt, context.resolver, list_issuer_trusted, now)
            .await
            .map_err(|error| match error {
                TrustError::UntrustedIssuer { .. } | TrustError::StatusList { .. } => error,
                other => list_error(format!("status list credential does not verify: {other}")),
            })?;
    if list_credential.id.as_deref().is_some_and(|id| id != url) {
        return Err(list_error(
            "the credential served there has another id".to_owned(),
        ));
    }
    let subject = &list_credential.credential_subject;
    let purposes: Vec<&str> = match subject.get("statusPurpose") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !purposes.contains(&purpose.as_str()) {
        return Err(list_error(format!(
            "the list's statusPurpose is not {}",
            purpose.as_str()
        )));
    }
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| list_error("credentialSubject.encodedList is missing".to_owned()))?;
    StatusList::decode(encoded).map_err(|error| match error {
        TrustError::StatusList { reason, .. } => list_error(reason),
        other => other,
    })
}

// ------------------------------------------------------------------------------------------
// serde helpers shared with `vp`
// ------------------------------------------------------------------------------------------

pub(crate) fn values_one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    })
}

pub(crate) fn strings_one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(deserializer)? {
        Value::String(one) => Ok(vec![one]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                _ => Err(D::Error::custom("type entries must be strings")),
            })
            .collect(),
        _ => Err(D::Error::custom(
            "type must be a string or an array of strings",
        )),
    }
}

fn issuer_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(deserializer)? {
        Value::String(issuer) => Ok(issuer),
        Value::Object(issuer) => match issuer.get("id") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ => Err(D::Error::custom("issuer object must have a string id")),
        },
        _ => Err(D::Error::custom("issuer must be a string or an object")),
    }
}

fn values_object_when_single<S: Serializer>(
    values: &[Value],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match values {
        [one] => one.serialize(serializer),
        many => many.serialize(serializer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_json_round_trips_and_accepts_alternative_forms() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let credential = Credential::new(
            "MembershipCredential",
            "did:web:op.example",
            now,
            json!({"id": "did:web:a.example", "memberOf": "battery-dataspace"}),
        )
        .with_status(&StatusListEntry::new(
            "https://op.example/status/1",
            3,
            StatusPurpose::Revocation,
        ));
        let json = serde_json::to_value(&credential).unwrap();
        assert_eq!(json["@context"], json!([VC_CONTEXT_V2]));
        assert_eq!(
            json["type"],
            json!(["VerifiableCredential", "MembershipCredential"])
        );
        assert_eq!(json["validFrom"], "2027-01-15T08:00:00Z");
        assert_eq!(json["credentialStatus"]["type"], "BitstringStatusListEntry");
        let back: Credential = serde_json::from_value(json).unwrap();
        assert_eq!(back, credential);

        let other: Credential = serde_json::from_value(json!({
            "@context": VC_CONTEXT_V2,
            "type": "VerifiableCredential",
            "issuer": {"id": "did:web:op.example", "name": "Operator"},
            "credentialSubject": {"id": "did:web:a.example"},
            "name": "kept"
        }))
        .unwrap();
        assert_eq!(other.issuer, "did:web:op.example");
        assert_eq!(other.types, vec!["VerifiableCredential"]);
        assert_eq!(other.extra["name"], "kept");
    }

    #[test]
    fn issuing_refuses_a_foreign_issuer() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let credential = Credential::new("X", "did:web:other.example", now, json!({}));
        let key = KeyPair::from_secret_bytes(&[1; 32]);
        assert!(matches!(
            issue_vc_jwt(&credential, &key, "did:web:op.example"),
            Err(TrustError::InvalidCredential { .. })
        ));
    }

    #[test]
    fn issued_token_carries_mirrors_and_the_expected_header() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut credential = Credential::new(
            "MembershipCredential",
            "did:web:op.example",
            now,
            json!({"id": "did:web:a.example"}),
        );
        credential.id = Some("urn:uuid:1".to_owned());
        credential.valid_until = Some(now + Duration::days(365));
        let key = KeyPair::from_secret_bytes(&[1; 32]);
        let jwt = issue_vc_jwt(&credential, &key, "did:web:op.example").unwrap();
        let (header, payload) = jws::decode_unverified(&jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some("vc+jwt"));
        assert_eq!(
            header.kid,
            Some(format!("did:web:op.example#{}", key.kid()))
        );
        assert_eq!(payload["iss"], "did:web:op.example");
        assert_eq!(payload["sub"], "did:web:a.example");
        assert_eq!(payload["jti"], "urn:uuid:1");
        assert_eq!(payload["nbf"], now.timestamp());
        assert_eq!(payload["exp"], (now + Duration::days(365)).timestamp());
        assert_eq!(payload["issuer"], "did:web:op.example");
    }

    #[test]
    fn trusted_issuers_are_per_type() {
        let trusted = TrustedIssuers::new()
            .with("MembershipCredential", "did:web:op.example")
            .with(STATUS_LIST_CREDENTIAL_TYPE, "did:web:op.example");
        assert!(trusted.is_trusted("MembershipCredential", "did:web:op.example"));
        assert!(!trusted.is_trusted("BatteryChainRoleCredential", "did:web:op.example"));
        assert!(!trusted.is_trusted("MembershipCredential", "did:web:evil.example"));
        let json = serde_json::to_value(&trusted).unwrap();
        assert_eq!(json["MembershipCredential"], json!(["did:web:op.example"]));
        assert_eq!(
            serde_json::from_value::<TrustedIssuers>(json).unwrap(),
            trusted
        );
    }

    #[test]
    fn numeric_dates_accept_integers_and_fractions_only() {
        let claims: Map<String, Value> =
            serde_json::from_value(json!({"a": 10, "b": 10.7, "c": "10", "d": -1e300})).unwrap();
        assert_eq!(numeric_date(&claims, "a").unwrap().unwrap().timestamp(), 10);
        assert_eq!(numeric_date(&claims, "b").unwrap().unwrap().timestamp(), 10);
        assert!(numeric_date(&claims, "c").is_err());
        assert!(numeric_date(&claims, "d").is_err());
        assert_eq!(numeric_date(&claims, "e").unwrap(), None);
    }
}
