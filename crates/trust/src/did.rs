//! Decentralised identifiers: syntax (DID Core 1.0), `did:key` (Ed25519 and P-256), `did:web`
//! addresses, DID documents and the DCP rules for picking the key that verifies a token.
//!
//! Resolution that needs the network (`did:web`) happens behind [`DidResolver`], which the
//! server implements; `did:key` needs none and is resolved here ([`resolve_did_key`]).

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use crate::TrustError;
use crate::jwk::{Jwk, PublicKey};
use crate::keys::KeyRing;

/// The DID Core context, first in every document this crate writes.
pub const DID_CONTEXT: &str = "https://www.w3.org/ns/did/v1";
/// The context that defines `JsonWebKey2020`.
pub const JWS_2020_CONTEXT: &str = "https://w3id.org/security/suites/jws-2020/v1";
/// The DCP context (for the `CredentialService` service type).
pub const DCP_CONTEXT: &str = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld";

/// Longest DID accepted (a guard against absurd input, far above any real DID).
const MAX_DID_LEN: usize = 2048;

/// Multicodec prefix (unsigned varint) of an Ed25519 public key.
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix (unsigned varint of 0x1200) of a compressed P-256 public key.
const MULTICODEC_P256_PUB: [u8; 2] = [0x80, 0x24];

// ------------------------------------------------------------------------------------------
// DID syntax
// ------------------------------------------------------------------------------------------

/// A syntactically valid DID (no path, query or fragment), e.g. `did:web:example.com`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Did(String);

impl Did {
    /// Checks `text` against the DID Core ABNF: `did:` method-name `:` method-specific-id,
    /// where the method name is lower-case letters and digits and the id is made of letters,
    /// digits, `.`, `-`, `_`, `%XX` and `:` separators, not ending in `:`.
    pub fn parse(text: &str) -> Result<Did, TrustError> {
        let invalid = |reason: &str| TrustError::InvalidDid {
            did: truncate_for_message(text),
            reason: reason.to_owned(),
        };
        if text.len() > MAX_DID_LEN {
            return Err(invalid("longer than 2048 characters"));
        }
        let Some(rest) = text.strip_prefix("did:") else {
            return Err(invalid("does not start with \"did:\""));
        };
        let Some((method, id)) = rest.split_once(':') else {
            return Err(invalid("has no method-specific id"));
        };
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(invalid("method name must be lower-case letters and digits"));
        }
        if id.is_empty() || id.ends_with(':') {
            return Err(invalid("method-specific id is empty or ends with ':'"));
        }
        let bytes = id.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' => {
                    let hex = bytes.get(i + 1..i + 3);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(invalid("'%' must be followed by two hex digits"));
                    }
                    i += 3;
                }
                b if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':') => {
                    i += 1;
                }
                b'#' | b'?' | b'/' => {
                    return Err(invalid("a DID has no path, query or fragment"));
                }
                _ => {
                    return Err(invalid(
                        "method-specific id has a character DIDs do not allow",
                    ));
                }
            }
        }
        Ok(Did(text.to_owned()))
    }

    /// The whole DID.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method, e.g. `web`.
    pub fn method(&self) -> &str {
        self.0[4..].split_once(':').map_or("", |(method, _)| method)
    }

    /// Everything after `did:<method>:`.
    pub fn method_specific_id(&self) -> &str {
        self.0[4..].split_once(':').map_or("", |(_, id)| id)
    }
}

impl std::fmt::Display for Did {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Did {
    type Err = TrustError;
    fn from_str(text: &str) -> Result<Did, TrustError> {
        Did::parse(text)
    }
}

impl TryFrom<String> for Did {
    type Error = TrustError;
    fn try_from(text: String) -> Result<Did, TrustError> {
        Did::parse(&text)
    }
}

impl From<Did> for String {
    fn from(did: Did) -> String {
        did.0
    }
}

impl AsRef<str> for Did {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Identifiers from remote parties go into error messages; keep those readable.
pub(crate) fn truncate_for_message(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

// ------------------------------------------------------------------------------------------
// did:key
// ------------------------------------------------------------------------------------------

/// The `did:key` of an Ed25519 public key: `did:key:z` + base58btc(0xed 0x01 ‖ key).
pub fn did_key_for(public: &ed25519_dalek::VerifyingKey) -> String {
    let mut bytes = MULTICODEC_ED25519_PUB.to_vec();
    bytes.extend_from_slice(public.as_bytes());
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// The `did:key` of a P-256 public key: `did:key:z` + base58btc(0x80 0x24 ‖ compressed point).
pub fn did_key_for_p256(public: &p256::ecdsa::VerifyingKey) -> String {
    let mut bytes = MULTICODEC_P256_PUB.to_vec();
    bytes.extend_from_slice(public.to_encoded_point(true).as_bytes());
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// Decodes a multibase (`z`, base58btc) multicodec public key, as found in `did:key` and in
/// `publicKeyMultibase`.
fn decode_multibase_key(multibase: &str) -> Result<PublicKey, String> {
    let Some(base58) = multibase.strip_prefix('z') else {
        return Err("multibase key must start with 'z' (base58btc)".to_owned());
    };
    let bytes = bs58::decode(base58)
        .into_vec()
        .map_err(|_| "multibase key is not base58btc".to_owned())?;
    if let Some(key) = bytes.strip_prefix(&MULTICODEC_ED25519_PUB) {
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| "Ed25519 key must be 32 bytes".to_owned())?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| "not a valid Ed25519 public key".to_owned())?;
        Ok(PublicKey::Ed25519(key))
    } else if let Some(key) = bytes.strip_prefix(&MULTICODEC_P256_PUB) {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .map_err(|_| "not a valid P-256 public key".to_owned())?;
        Ok(PublicKey::P256(key))
    } else {
        Err("unsupported multicodec key type (supported: Ed25519 0xed, P-256 0x1200)".to_owned())
    }
}

/// The DID URL that names `key` in `did`'s document, for a JWS `kid` header: `did#<kid>` for
/// documents made by [`DidDocument::for_key_ring`], and `did#<multibase>` for a `did:key`,
/// whose one method is named after the key itself.
pub fn key_id_url(did: &str, key: &crate::keys::KeyPair) -> String {
    match did.strip_prefix("did:key:") {
        Some(multibase) => format!("{did}#{multibase}"),
        None => format!("{did}#{}", key.kid()),
    }
}

/// The DID document of a `did:key` (Ed25519 or P-256), with its single verification method
/// (`did:key:z...#z...`, a `JsonWebKey2020`) in every verification relationship.
pub fn resolve_did_key(did: &str) -> Result<DidDocument, TrustError> {
    let parsed = Did::parse(did)?;
    if parsed.method() != "key" {
        return Err(TrustError::UnsupportedDidMethod {
            did: parsed.to_string(),
            method: parsed.method().to_owned(),
        });
    }
    let multibase = parsed.method_specific_id();
    let public = decode_multibase_key(multibase).map_err(|reason| TrustError::InvalidDid {
        did: truncate_for_message(did),
        reason,
    })?;
    let method_id = format!("{did}#{multibase}");
    let method = VerificationMethod {
        id: method_id.clone(),
        method_type: "JsonWebKey2020".to_owned(),
        controller: did.to_owned(),
        public_key_jwk: Some(public.to_jwk().with_kid(method_id.clone())),
        public_key_multibase: None,
    };
    let reference = || vec![VerificationReference::Reference(method_id.clone())];
    Ok(DidDocument {
        context: vec![
            Value::String(DID_CONTEXT.to_owned()),
            Value::String(JWS_2020_CONTEXT.to_owned()),
        ],
        id: did.to_owned(),
        verification_method: vec![method],
        authentication: reference(),
        assertion_method: reference(),
        capability_invocation: reference(),
        capability_delegation: reference(),
        service: Vec::new(),
    })
}

// ------------------------------------------------------------------------------------------
// did:web
// ------------------------------------------------------------------------------------------

/// Where the document of a `did:web` lives (did:web method specification, "Read"):
///
/// * `did:web:example.com` → `https://example.com/.well-known/did.json`
/// * `did:web:example.com:user:alice` → `https://example.com/user/alice/did.json`
/// * `did:web:example.com%3A8443` → `https://example.com:8443/.well-known/did.json`
///
/// `use_https = false` gives `http://` and also admits IP-address hosts: for tests and local
/// development only. With `use_https = true` an IP address is refused, as the method requires a
/// domain name.
pub fn did_web_document_url(did: &str, use_https: bool) -> Result<Url, TrustError> {
    let parsed = Did::parse(did)?;
    if parsed.method() != "web" {
        return Err(TrustError::UnsupportedDidMethod {
            did: parsed.to_string(),
            method: parsed.method().to_owned(),
        });
    }
    let invalid = |reason: &str| TrustError::InvalidDid {
        did: truncate_for_message(did),
        reason: reason.to_owned(),
    };
    let mut segments = parsed.method_specific_id().split(':');
    let encoded_host = segments.next().unwrap_or_default();
    let host_and_port = encoded_host.replace("%3A", ":").replace("%3a", ":");
    let (host, port) = match host_and_port.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_and_port.as_str(), None),
    };
    if host.is_empty()
        || host.starts_with(['.', '-'])
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(invalid(
            "did:web host must be a domain name (letters, digits, '.', '-'), with an optional %3A port",
        ));
    }
    if let Some(port) = port {
        if port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(invalid("did:web port must be a number from 1 to 65535"));
        }
    }
    let path: Vec<&str> = segments.collect();
    if path
        .iter()
        .any(|segment| segment.is_empty() || *segment == "." || *segment == "..")
    {
        return Err(invalid(
            "did:web path segments must be non-empty and not '.' or '..'",
        ));
    }
    let scheme = if use_https { "https" } else { "http" };
    let location = if path.is_empty() {
        format!("{scheme}://{host_and_port}/.well-known/did.json")
    } else {
        format!("{scheme}://{host_and_port}/{}/did.json", path.join("/"))
    };
    let url = Url::parse(&location).map_err(|error| invalid(&format!("{error}")))?;
    match url.host() {
        Some(url::Host::Domain(_)) => {}
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) if !use_https => {}
        Some(_) => {
            return Err(invalid(
                "did:web host must be a domain name, not an IP address",
            ));
        }
        None => return Err(invalid("did:web has no host")),
    }
    Ok(url)
}

/// The `did:web` whose document lives at `base` (the inverse of [`did_web_document_url`] for
/// a base URL without `/did.json`): `https://example.com:8443/connector` →
/// `did:web:example.com%3A8443:connector`. Query and fragment must be absent.
pub fn did_web_for_url(base: &Url) -> Result<String, TrustError> {
    let invalid = |reason: &str| TrustError::InvalidDid {
        did: truncate_for_message(base.as_str()),
        reason: reason.to_owned(),
    };
    if base.query().is_some() || base.fragment().is_some() {
        return Err(invalid("a did:web base URL has no query or fragment"));
    }
    let Some(host) = base.host_str() else {
        return Err(invalid("URL has no host"));
    };
    let mut did = format!("did:web:{host}");
    if let Some(port) = base.port() {
        did.push_str(&format!("%3A{port}"));
    }
    for segment in base.path().split('/').filter(|s| !s.is_empty()) {
        did.push(':');
        did.push_str(segment);
    }
    Did::parse(&did)?;
    Ok(did)
}

// ------------------------------------------------------------------------------------------
// DID documents
// ------------------------------------------------------------------------------------------

/// A DID document as far as DCP needs it. Unknown members are ignored on parsing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidDocument {
    /// JSON-LD contexts (a single string is accepted on parsing).
    #[serde(
        rename = "@context",
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub context: Vec<Value>,
    /// The DID this document describes.
    pub id: String,
    /// The keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification_method: Vec<VerificationMethod>,
    /// Keys that authenticate the DID subject (signing presentations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication: Vec<VerificationReference>,
    /// Keys that make assertions (signing credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_method: Vec<VerificationReference>,
    /// Keys that invoke capabilities (signing DCP self-issued ID tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capability_invocation: Vec<VerificationReference>,
    /// Keys that delegate capabilities (not used by DCP; kept for `did:key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capability_delegation: Vec<VerificationReference>,
    /// Services, e.g. the DCP `CredentialService` and the DSP endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
}

/// A verification method: a public key and who controls it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMethod {
    /// Absolute (`did:...#key-1`) or relative (`#key-1`) id.
    pub id: String,
    /// `JsonWebKey2020`, `JsonWebKey`, `Multikey`, ...
    #[serde(rename = "type")]
    pub method_type: String,
    /// The DID that controls the key.
    pub controller: String,
    /// The key as a JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_jwk: Option<Jwk>,
    /// The key as multibase multicodec (`Multikey`), accepted on parsing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_multibase: Option<String>,
}

/// An entry of a verification relationship: a reference to a method, or the method itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VerificationReference {
    /// The id of a method in `verificationMethod`.
    Reference(String),
    /// A method only usable for this relationship.
    Embedded(Box<VerificationMethod>),
}

/// A DID document service entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The service id, e.g. `did:web:example.com#credential-service`.
    pub id: String,
    /// The service type, e.g. `CredentialService`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// A URL string (or, from other implementations, a map or set).
    pub service_endpoint: Value,
}

impl Service {
    /// A service whose endpoint is one URL.
    pub fn new(
        id: impl Into<String>,
        service_type: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Service {
        Service {
            id: id.into(),
            service_type: service_type.into(),
            service_endpoint: Value::String(endpoint.into()),
        }
    }
}

/// The verification relationships a verifier asks for (DCP: self-issued ID tokens need
/// `capabilityInvocation`, presentations `authentication`; credentials need `assertionMethod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// `authentication`
    Authentication,
    /// `assertionMethod`
    AssertionMethod,
    /// `capabilityInvocation`
    CapabilityInvocation,
}

impl Relationship {
    /// The DID Core property name.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Authentication => "authentication",
            Relationship::AssertionMethod => "assertionMethod",
            Relationship::CapabilityInvocation => "capabilityInvocation",
        }
    }
}

impl VerificationMethod {
    /// The method's key as a JWK whose `kid` is the method's absolute id, from `publicKeyJwk` or
    /// (for `Multikey`) `publicKeyMultibase`.
    pub fn public_jwk(&self, document_id: &str) -> Result<Jwk, TrustError> {
        let absolute_id = absolute_id(document_id, &self.id);
        let mut jwk = match (&self.public_key_jwk, &self.public_key_multibase) {
            (Some(jwk), _) => jwk.clone(),
            (None, Some(multibase)) => decode_multibase_key(multibase)
                .map_err(|reason| TrustError::InvalidJwk(format!("{absolute_id}: {reason}")))?
                .to_jwk(),
            (None, None) => {
                return Err(TrustError::InvalidJwk(format!(
                    "verification method {absolute_id} has neither publicKeyJwk nor publicKeyMultibase"
                )));
            }
        };
        // Fail here rather than at signature time, with the method named.
        jwk.verifying_key().map_err(|error| {
            TrustError::InvalidJwk(format!("verification method {absolute_id}: {error}"))
        })?;
        jwk.kid = Some(absolute_id);
        Ok(jwk)
    }
}

impl DidDocument {
    /// The document a participant publishes for `did`: every key of `ring` that verifies at
    /// `now` (active key first) as a `JsonWebKey2020` method `did#kid`, each listed under
    /// `authentication`, `assertionMethod` and `capabilityInvocation`, plus `services`.
    pub fn for_key_ring(
        did: &Did,
        ring: &KeyRing,
        now: DateTime<Utc>,
        services: Vec<Service>,
    ) -> DidDocument {
        let did = did.as_str();
        let methods: Vec<VerificationMethod> = ring
            .verification_keys(now)
            .into_iter()
            .map(|jwk| {
                let kid = jwk.kid.clone().unwrap_or_default();
                VerificationMethod {
                    id: format!("{did}#{kid}"),
                    method_type: "JsonWebKey2020".to_owned(),
                    controller: did.to_owned(),
                    public_key_jwk: Some(jwk),
                    public_key_multibase: None,
                }
            })
            .collect();
        let references = || {
            methods
                .iter()
                .map(|method| VerificationReference::Reference(method.id.clone()))
                .collect::<Vec<_>>()
        };
        DidDocument {
            context: [DID_CONTEXT, JWS_2020_CONTEXT, DCP_CONTEXT]
                .into_iter()
                .map(|context| Value::String(context.to_owned()))
                .collect(),
            id: did.to_owned(),
            authentication: references(),
            assertion_method: references(),
            capability_invocation: references(),
            capability_delegation: Vec::new(),
            verification_method: methods,
            service: services,
        }
    }

    /// The endpoint of the first service of `service_type` whose endpoint is a single URL
    /// (e.g. `CredentialService`).
    pub fn service_endpoint(&self, service_type: &str) -> Option<&str> {
        self.service
            .iter()
            .filter(|service| service.service_type == service_type)
            .find_map(|service| service.service_endpoint.as_str())
    }

    /// The key that verifies a token with header `kid`, by the rules of DCP 1.0
    /// (base protocol, "Validating Self-Issued ID Tokens"):
    ///
    /// * `kid` may be a DID URL (`did:web:example.com#key-1`), whose DID must be this
    ///   document's, or a fragment (`#key-1` or `key-1`);
    /// * without `kid`, a document with exactly one verification method uses it; with more than
    ///   one the token is refused;
    /// * no matching method: refused;
    /// * the method must be listed under `relationship`.
    ///
    /// Methods embedded in a relationship count as verification methods too. The returned
    /// JWK's `kid` is the method's absolute id.
    pub fn key_for(
        &self,
        kid: Option<&str>,
        relationship: Relationship,
    ) -> Result<Jwk, TrustError> {
        let methods = self.all_methods();
        let method = match kid {
            Some(kid) => {
                let wanted = self.absolute_kid(kid)?;
                methods
                    .iter()
                    .find(|method| absolute_id(&self.id, &method.id) == wanted)
                    .ok_or_else(|| TrustError::NoMatchingKey {
                        did: self.id.clone(),
                        kid: truncate_for_message(kid),
                    })?
            }
            None => match methods.as_slice() {
                [only] => *only,
                [] => {
                    return Err(TrustError::NoMatchingKey {
                        did: self.id.clone(),
                        kid: "(no kid)".to_owned(),
                    });
                }
                many => {
                    return Err(TrustError::AmbiguousKey {
                        did: self.id.clone(),
                        count: many.len(),
                    });
                }
            },
        };
        let method_id = absolute_id(&self.id, &method.id);
        let listed = self
            .relationship(relationship)
            .iter()
            .any(|entry| match entry {
                VerificationReference::Reference(id) => absolute_id(&self.id, id) == method_id,
                VerificationReference::Embedded(embedded) => {
                    absolute_id(&self.id, &embedded.id) == method_id
                }
            });
        if !listed {
            return Err(TrustError::KeyNotAuthorized {
                kid: method_id,
                relationship: relationship.as_str(),
            });
        }
        method.public_jwk(&self.id)
    }

    fn relationship(&self, relationship: Relationship) -> &[VerificationReference] {
        match relationship {
            Relationship::Authentication => &self.authentication,
            Relationship::AssertionMethod => &self.assertion_method,
            Relationship::CapabilityInvocation => &self.capability_invocation,
        }
    }

    /// `verificationMethod` plus methods embedded in relationships, each id once.
    fn all_methods(&self) -> Vec<&VerificationMethod> {
        let mut methods: Vec<&VerificationMethod> = Vec::new();
        let embedded = [
            &self.authentication,
            &self.assertion_method,
            &self.capability_invocation,
            &self.capability_delegation,
        ]
        .into_iter()
        .flatten()
        .filter_map(|entry| match entry {
            VerificationReference::Embedded(method) => Some(method.as_ref()),
            VerificationReference::Reference(_) => None,
        });
        for method in self.verification_method.iter().chain(embedded) {
            let id = absolute_id(&self.id, &method.id);
            if !methods.iter().any(|m| absolute_id(&self.id, &m.id) == id) {
                methods.push(method);
            }
        }
        methods
    }

    /// `kid` as an absolute method id of this document, or an error when it names another DID.
    fn absolute_kid(&self, kid: &str) -> Result<String, TrustError> {
        if kid.starts_with("did:") {
            let did_part = kid.split_once('#').map_or(kid, |(did, _)| did);
            if did_part != self.id {
                return Err(TrustError::KidOfAnotherDid {
                    kid: truncate_for_message(kid),
                    expected: self.id.clone(),
                });
            }
            Ok(kid.to_owned())
        } else {
            Ok(absolute_id(&self.id, kid))
        }
    }
}

/// `#key-1` and `key-1` become `<document id>#key-1`; absolute ids stay as they are.
fn absolute_id(document_id: &str, id: &str) -> String {
    if id.starts_with("did:") {
        id.to_owned()
    } else if let Some(fragment) = id.strip_prefix('#') {
        format!("{document_id}#{fragment}")
    } else {
        format!("{document_id}#{id}")
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    })
}

// ------------------------------------------------------------------------------------------
// Resolution
// ------------------------------------------------------------------------------------------

/// Turns a DID into its document. The server implements it for `did:web` (HTTPS GET of
/// [`did_web_document_url`], with a cache); implementations should resolve `did:key` with
/// [`resolve_did_key`].
#[async_trait]
pub trait DidResolver: Send + Sync {
    /// The document of `did`, or why it cannot be had.
    async fn resolve(&self, did: &str) -> Result<DidDocument, TrustError>;

    /// Drops a cached document of `did`, if the resolver caches, because a token named a key
    /// the cached copy lacks (the signer may have rotated its key since). A resolver may
    /// refuse to forget too often, so that forged key ids cannot force a fetch per request.
    fn forget(&self, _did: &str) {}
}

/// Resolves through `resolver` and checks that the document is about `did`.
pub(crate) async fn resolve_checked(
    resolver: &dyn DidResolver,
    did: &str,
) -> Result<DidDocument, TrustError> {
    Did::parse(did)?;
    let document = resolver.resolve(did).await?;
    if document.id != did {
        return Err(TrustError::DidDocumentMismatch {
            expected: did.to_owned(),
            found: truncate_for_message(&document.id),
        });
    }
    Ok(document)
}

/// An in-memory resolver: documents inserted by hand, `did:key` resolved natively. For tests
/// and for fixed deployments whose partners are known in advance.
#[derive(Debug, Default)]
pub struct StaticResolver {
    documents: RwLock<HashMap<String, DidDocument>>,
}

impl StaticResolver {
    /// An empty resolver (it still resolves every `did:key`).
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Adds or replaces the document for `document.id`.
    pub fn insert(&self, document: DidDocument) {
        self.documents
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(document.id.clone(), document);
    }

    /// Forgets `did`.
    pub fn remove(&self, did: &str) {
        self.documents
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(did);
    }
}

#[async_trait]
impl DidResolver for StaticResolver {
    async fn resolve(&self, did: &str) -> Result<DidDocument, TrustError> {
        if did.starts_with("did:key:") {
            return resolve_did_key(did);
        }
        self.documents
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(did)
            .cloned()
            .ok_or_else(|| TrustError::DidResolution {
                did: truncate_for_message(did),
                reason: "unknown DID".to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;
    use serde_json::json;

    #[test]
    fn did_syntax() {
        for ok in [
            "did:web:example.com",
            "did:web:example.com%3A8443:user:alice",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "did:example:123_abc-x.y",
        ] {
            let did = Did::parse(ok).unwrap();
            assert_eq!(did.as_str(), ok);
        }
        let did = Did::parse("did:web:example.com:a").unwrap();
        assert_eq!(did.method(), "web");
        assert_eq!(did.method_specific_id(), "example.com:a");
        for bad in [
            "",
            "did:",
            "did:web",
            "did:web:",
            "did:Web:example.com",
            "did:web:example.com:",
            "did:web:example.com#key-1",
            "did:web:example.com?x=1",
            "did:web:example.com/path",
            "did:web:exa mple.com",
            "did:web:example.com%3",
            "did:web:example.com%zz",
            "DID:web:example.com",
        ] {
            assert!(Did::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let parsed: Did = serde_json::from_value(json!("did:web:a.example")).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!("did:web:a.example")
        );
        assert!(serde_json::from_value::<Did>(json!("not a did")).is_err());
    }

    #[test]
    fn did_web_urls() {
        let cases = [
            (
                "did:web:example.com",
                "https://example.com/.well-known/did.json",
            ),
            (
                "did:web:w3c-ccg.github.io:user:alice",
                "https://w3c-ccg.github.io/user/alice/did.json",
            ),
            (
                "did:web:example.com%3A3000",
                "https://example.com:3000/.well-known/did.json",
            ),
            (
                "did:web:example.com%3a3000:connector",
                "https://example.com:3000/connector/did.json",
            ),
            (
                "did:web:localhost%3A8080:a:b%20c",
                "https://localhost:8080/a/b%20c/did.json",
            ),
        ];
        for (did, expected) in cases {
            assert_eq!(did_web_document_url(did, true).unwrap().as_str(), expected);
        }
        assert_eq!(
            did_web_document_url("did:web:127.0.0.1%3A9000", false)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000/.well-known/did.json"
        );
        for (bad, reason) in [
            ("did:web:127.0.0.1%3A9000", "IP address"),
            ("did:key:z6Mk", "not supported"),
            ("did:web:example.com%3A", "port"),
            ("did:web:example.com%3A99999", "port"),
            ("did:web:example.com%3Aab", "port"),
            ("did:web:example.com::a", "path segments"),
            ("did:web:example.com:..:a", "path segments"),
            ("did:web:user%40example.com", "domain name"),
            ("did:web:example.com%2Fevil", "domain name"),
        ] {
            let error = did_web_document_url(bad, true).unwrap_err().to_string();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn did_web_from_base_url() {
        for (url, did) in [
            ("https://example.com", "did:web:example.com"),
            ("https://example.com/", "did:web:example.com"),
            (
                "https://example.com:8443/connector/a",
                "did:web:example.com%3A8443:connector:a",
            ),
            ("http://localhost:9000", "did:web:localhost%3A9000"),
        ] {
            let url = Url::parse(url).unwrap();
            let made = did_web_for_url(&url).unwrap();
            assert_eq!(made, did);
            let use_https = url.scheme() == "https";
            let document = did_web_document_url(&made, use_https).unwrap();
            assert!(
                document
                    .as_str()
                    .starts_with(url.as_str().trim_end_matches('/'))
            );
        }
    }

    #[test]
    fn did_key_round_trips_for_both_key_types() {
        let key = KeyPair::from_secret_bytes(&[4; 32]);
        let did = did_key_for(&key.verifying_key());
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        let document = resolve_did_key(&did).unwrap();
        assert_eq!(document.id, did);
        let jwk = document
            .key_for(None, Relationship::CapabilityInvocation)
            .unwrap();
        assert_eq!(
            jwk.verifying_key().unwrap(),
            PublicKey::Ed25519(key.verifying_key())
        );

        let p256 = p256::ecdsa::SigningKey::from_slice(&[8; 32]).unwrap();
        let did = did_key_for_p256(p256.verifying_key());
        assert!(did.starts_with("did:key:zDn"), "{did}");
        let document = resolve_did_key(&did).unwrap();
        let fragment = did.strip_prefix("did:key:").unwrap();
        let jwk = document
            .key_for(Some(&format!("#{fragment}")), Relationship::Authentication)
            .unwrap();
        assert_eq!(
            jwk.verifying_key().unwrap(),
            PublicKey::P256(*p256.verifying_key())
        );
    }

    #[test]
    fn did_key_defects_are_refused() {
        for (bad, reason) in [
            ("did:key:6Mkabc", "must start with 'z'"),
            ("did:key:z0OIl", "not base58btc"),
            (
                "did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
                "unsupported multicodec",
            ),
            ("did:web:example.com", "not supported"),
        ] {
            let error = resolve_did_key(bad).unwrap_err().to_string();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    fn document_with_two_keys() -> (DidDocument, KeyPair, KeyPair) {
        let a = KeyPair::from_secret_bytes(&[1; 32]);
        let b = KeyPair::from_secret_bytes(&[2; 32]);
        let document: DidDocument = serde_json::from_value(json!({
            "@context": "https://www.w3.org/ns/did/v1",
            "id": "did:web:a.example",
            "verificationMethod": [
                {"id": "#a", "type": "JsonWebKey2020", "controller": "did:web:a.example",
                 "publicKeyJwk": a.public_jwk()},
                {"id": "did:web:a.example#b", "type": "JsonWebKey", "controller": "did:web:a.example",
                 "publicKeyJwk": b.public_jwk()}
            ],
            "authentication": ["did:web:a.example#a", "#b"],
            "capabilityInvocation": ["#a"],
            "service": [{"id": "#cs", "type": "CredentialService", "serviceEndpoint": "https://cs.a.example"}]
        }))
        .unwrap();
        (document, a, b)
    }

    #[test]
    fn key_selection_follows_dcp_rules() {
        let (document, a, b) = document_with_two_keys();
        let public = |jwk: Jwk| jwk.verifying_key().unwrap();
        let ed = |k: &KeyPair| PublicKey::Ed25519(k.verifying_key());
        for kid in ["did:web:a.example#a", "#a", "a"] {
            let jwk = document
                .key_for(Some(kid), Relationship::CapabilityInvocation)
                .unwrap();
            assert_eq!(jwk.kid.as_deref(), Some("did:web:a.example#a"));
            assert_eq!(public(jwk), ed(&a));
        }
        assert_eq!(
            public(
                document
                    .key_for(Some("#b"), Relationship::Authentication)
                    .unwrap()
            ),
            ed(&b)
        );
        assert!(matches!(
            document.key_for(Some("#b"), Relationship::CapabilityInvocation),
            Err(TrustError::KeyNotAuthorized { .. })
        ));
        assert!(matches!(
            document.key_for(Some("#a"), Relationship::AssertionMethod),
            Err(TrustError::KeyNotAuthorized { .. })
        ));
        assert!(matches!(
            document.key_for(None, Relationship::Authentication),
            Err(TrustError::AmbiguousKey { count: 2, .. })
        ));
        assert!(matches!(
            document.key_for(Some("#c"), Relationship::Authentication),
            Err(TrustError::NoMatchingKey { .. })
        ));
        assert!(matches!(
            document.key_for(Some("did:web:b.example#a"), Relationship::Authentication),
            Err(TrustError::KidOfAnotherDid { .. })
        ));
        assert_eq!(
            document.service_endpoint("CredentialService"),
            Some("https://cs.a.example")
        );
    }

    #[test]
    fn single_method_is_used_without_kid_only_when_authorised() {
        let key = KeyPair::from_secret_bytes(&[1; 32]);
        let mut document: DidDocument = serde_json::from_value(json!({
            "id": "did:web:a.example",
            "verificationMethod": [{"id": "#a", "type": "JsonWebKey2020",
                "controller": "did:web:a.example", "publicKeyJwk": key.public_jwk()}],
            "capabilityInvocation": ["#a"]
        }))
        .unwrap();
        assert!(
            document
                .key_for(None, Relationship::CapabilityInvocation)
                .is_ok()
        );
        document.capability_invocation.clear();
        assert!(matches!(
            document.key_for(None, Relationship::CapabilityInvocation),
            Err(TrustError::KeyNotAuthorized { .. })
        ));
    }

    #[test]
    fn embedded_and_multikey_methods_are_understood() {
        let key = KeyPair::from_secret_bytes(&[6; 32]);
        let multibase = did_key_for(&key.verifying_key())
            .strip_prefix("did:key:")
            .unwrap()
            .to_owned();
        let document: DidDocument = serde_json::from_value(json!({
            "id": "did:web:m.example",
            "authentication": [{"id": "did:web:m.example#mk", "type": "Multikey",
                "controller": "did:web:m.example", "publicKeyMultibase": multibase}]
        }))
        .unwrap();
        let jwk = document
            .key_for(None, Relationship::Authentication)
            .unwrap();
        assert_eq!(
            jwk.verifying_key().unwrap(),
            PublicKey::Ed25519(key.verifying_key())
        );
        assert!(matches!(
            document.key_for(Some("#mk"), Relationship::AssertionMethod),
            Err(TrustError::KeyNotAuthorized { .. })
        ));
    }

    #[test]
    fn document_for_key_ring_round_trips() {
        use rand::SeedableRng as _;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut ring = KeyRing::with_active_key(KeyPair::from_secret_bytes(&[1; 32]), now);
        let old_kid = ring.active().kid().to_owned();
        ring.rotate(&mut rng, now, chrono::Duration::hours(1));
        let did = Did::parse("did:web:a.example").unwrap();
        let document = DidDocument::for_key_ring(
            &did,
            &ring,
            now,
            vec![Service::new(
                "did:web:a.example#credential-service",
                "CredentialService",
                "https://a.example/cs",
            )],
        );
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["@context"][0], DID_CONTEXT);
        assert_eq!(json["verificationMethod"].as_array().unwrap().len(), 2);
        assert_eq!(json["verificationMethod"][0]["type"], "JsonWebKey2020");
        assert_eq!(
            json["service"][0]["serviceEndpoint"],
            "https://a.example/cs"
        );
        let back: DidDocument = serde_json::from_value(json).unwrap();
        assert_eq!(back, document);
        for relationship in [
            Relationship::Authentication,
            Relationship::AssertionMethod,
            Relationship::CapabilityInvocation,
        ] {
            back.key_for(Some(ring.active().kid()), relationship)
                .unwrap();
            back.key_for(Some(&old_kid), relationship).unwrap();
        }
        // After the grace period the old key is gone from the document.
        let later =
            DidDocument::for_key_ring(&did, &ring, now + chrono::Duration::hours(1), vec![]);
        assert!(matches!(
            later.key_for(Some(&old_kid), Relationship::Authentication),
            Err(TrustError::NoMatchingKey { .. })
        ));
    }

    #[test]
    fn static_resolver_resolves_inserted_documents_and_did_keys() {
        let resolver = StaticResolver::new();
        let (document, _, _) = document_with_two_keys();
        resolver.insert(document.clone());
        let block = futures::executor::block_on;
        assert_eq!(
            block(resolver.resolve("did:web:a.example")).unwrap(),
            document
        );
        assert!(matches!(
            block(resolver.resolve("did:web:b.example")),
            Err(TrustError::DidResolution { .. })
        ));
        let did = did_key_for(&KeyPair::from_secret_bytes(&[9; 32]).verifying_key());
        assert_eq!(block(resolver.resolve(&did)).unwrap().id, did);
        resolver.remove("did:web:a.example");
        assert!(block(resolver.resolve("did:web:a.example")).is_err());
    }

    #[test]
    fn resolve_checked_refuses_a_document_about_someone_else() {
        struct Liar;
        #[async_trait]
        impl DidResolver for Liar {
            async fn resolve(&self, _did: &str) -> Result<DidDocument, TrustError> {
                resolve_did_key(&did_key_for(
                    &KeyPair::from_secret_bytes(&[1; 32]).verifying_key(),
                ))
            }
        }
        let error = futures::executor::block_on(resolve_checked(&Liar, "did:web:victim.example"))
            .unwrap_err();
        assert!(matches!(error, TrustError::DidDocumentMismatch { .. }));
    }
}
