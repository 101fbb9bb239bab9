//! Selective disclosure for JWTs (SD-JWT, RFC 9901), so that a holder can show a verifier only
//! the claims it chooses while the verifier still checks the issuer's signature.
//!
//! Three roles, three entry points:
//!
//! * the **issuer** ([`issue_sd_jwt`]) names the selectively disclosable claims by JSON pointer
//!   (object members and array elements, nested to any depth). Each becomes a *disclosure*
//!   `[salt, name, value]` (or `[salt, value]` for an array element), base64url-encoded; the
//!   signed JWT keeps only its SHA-256 digest, in the `_sd` array of the enclosing object or as
//!   `{"...": digest}` in place of the array element. Salts are 128 random bits; decoy digests
//!   can hide how many claims an object or array really has; `cnf` binds the SD-JWT to the
//!   holder's key. The result is `<issuer JWT>~<disclosure>~...~`;
//! * the **holder** ([`present_sd_jwt`], [`present_sd_jwt_with_key_binding`]) keeps the
//!   disclosures of the claims it selects and of the objects that contain them, drops the
//!   rest, and may append a Key Binding JWT (`kb+jwt`) over the verifier's audience and nonce
//!   and the digest (`sd_hash`) of exactly what it presents;
//! * the **verifier** ([`verify_sd_jwt`], [`verify_sd_jwt_with_resolver`]) checks the issuer's
//!   signature, puts the disclosed claims back where their digests are, and gets the claims
//!   the holder disclosed plus those the issuer never concealed, with `_sd`, `_sd_alg` and the
//!   `...` placeholders of undisclosed array elements removed.
//!
//! Refused, as RFC 9901 section 7 demands: a `_sd_alg` other than `sha-256`; a disclosure
//! that no digest references; a digest that occurs twice (also a disclosure presented twice);
//! a disclosure whose claim name is `_sd` or `...` or already exists in its object; a property
//! disclosure referenced from an array or an element disclosure referenced from `_sd`;
//! malformed disclosures and placeholders; and, when key binding is required, a missing
//! Key Binding JWT or one with the wrong key, `typ`, audience, nonce, `sd_hash` or an `iat`
//! outside the verifier's window.
//!
//! What this module must never do: read the clock or draw its own random numbers (both are
//! passed in), or put a disclosed *value* into an error message or `Debug` output. Disclosures
//! are named by their digest, which reveals nothing.
//!
//! Stricter than RFC 9901, which would pass them on as ordinary claims: an `_sd` that is not an
//! array of strings, and an array element with a `...` member that is not exactly
//! `{"...": "<digest>"}`. Issuers must not write either (sections 4.2.4.1 and 4.2.4.2), so
//! they can only be mistakes or attempts to confuse. A Key Binding JWT's `aud` must be a
//! single string, as section 4.3 says.
//!
//! SD-JWT VC (`typ` `dc+sd-jwt`, the default) adds rules that are enforced here: the
//! credential type `vct` is required, and `iss`, `nbf`, `exp`, `cnf`, `vct`, `vct#integrity`
//! and `status` must never be selectively disclosable. The `status` claim (Token Status List)
//! is not checked by this module.

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::{CryptoRng, Rng as _, RngCore};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::TrustError;
use crate::did::{DidResolver, Relationship, resolve_checked, truncate_for_message};
use crate::jwk::{Jwk, PublicKey};
use crate::jws::{self, JwsHeader};
use crate::keys::KeyPair;
use crate::vc::{CLOCK_SKEW, TrustedIssuers, numeric_date};

/// The `typ` of an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc), the default of [`issue_sd_jwt`].
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// The `typ` RFC 9901's examples use (and the Python reference implementation by default).
pub const EXAMPLE_SD_JWT_TYP: &str = "example+sd-jwt";
/// The `typ` of a Key Binding JWT.
pub const KB_JWT_TYP: &str = "kb+jwt";
/// The one digest algorithm supported, as named in `_sd_alg`.
pub const SD_ALG: &str = "sha-256";

const SD_CLAIM: &str = "_sd";
const SD_ALG_CLAIM: &str = "_sd_alg";
const ARRAY_ELEMENT_KEY: &str = "...";

/// 128 bits, the minimum RFC 9901 (section 9.3) recommends.
const SALT_BYTES: usize = 16;

/// A whole presentation larger than this is refused before any decoding, like a JWS.
const MAX_SD_JWT_BYTES: usize = 1024 * 1024;

/// Objects, arrays and disclosures nested deeper than this are refused: the processing is
/// recursive, and disclosures inside disclosures could otherwise nest without bound.
const MAX_NESTING: usize = 128;

/// SD-JWT VC: claims that must stay visible to every verifier.
const SD_JWT_VC_ALWAYS_VISIBLE: [&str; 7] =
    ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

// ------------------------------------------------------------------------------------------
// Disclosures and the compact serialisation
// ------------------------------------------------------------------------------------------

/// One disclosure: a salt, the claim name (for an object member; none for an array element)
/// and the claim value, as the base64url-encoded JSON array it travels as.
///
/// The encoded string is kept as received: the digest covers that string, and another
/// encoding of the same array would have another digest. `Debug` shows the digest and the
/// name, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Disclosure {
    encoded: String,
    digest: String,
    salt: String,
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Decodes a disclosure and checks its shape: base64url without padding of a JSON array
    /// `[salt, name, value]` or `[salt, value]`, with string salt and name, the name neither
    /// `_sd` nor `...`.
    pub fn parse(encoded: &str) -> Result<Disclosure, TrustError> {
        let digest = sha256_base64url(encoded);
        let malformed = |reason: String| TrustError::MalformedDisclosure {
            digest: digest.clone(),
            reason,
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| malformed("not base64url without padding".to_owned()))?;
        // serde_json's messages carry positions only, never the input's content.
        let array: Value = serde_json::from_slice(&bytes)
            .map_err(|error| malformed(format!("not JSON: {error}")))?;
        let Value::Array(mut items) = array else {
            return Err(malformed("not a JSON array".to_owned()));
        };
        let (salt, name, value) = match items.len() {
            2 => {
                let value = items.pop().unwrap_or_default();
                (items.pop().unwrap_or_default(), None, value)
            }
            3 => {
                let value = items.pop().unwrap_or_default();
                let name = items.pop().unwrap_or_default();
                (items.pop().unwrap_or_default(), Some(name), value)
            }
            count => {
                return Err(malformed(format!(
                    "has {count} elements; expected [salt, name, value] or [salt, value]"
                )));
            }
        };
        let Value::String(salt) = salt else {
            return Err(malformed("the salt is not a string".to_owned()));
        };
        let name = match name {
            None => None,
            Some(Value::String(name)) => {
                if name == SD_CLAIM || name == ARRAY_ELEMENT_KEY {
                    return Err(malformed(format!(
                        "the claim name {name:?} is reserved by SD-JWT"
                    )));
                }
                Some(name)
            }
            Some(_) => return Err(malformed("the claim name is not a string".to_owned())),
        };
        Ok(Disclosure {
            encoded: encoded.to_owned(),
            digest,
            salt,
            name,
            value,
        })
    }

    fn new(salt: String, name: Option<&str>, value: Value) -> Disclosure {
        let array = match name {
            Some(name) => json!([salt, name, value]),
            None => json!([salt, value]),
        };
        let encoded = URL_SAFE_NO_PAD.encode(array.to_string());
        Disclosure {
            digest: sha256_base64url(&encoded),
            encoded,
            salt,
            name: name.map(str::to_owned),
            value,
        }
    }

    /// The base64url form, as it appears between the `~`.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The base64url SHA-256 of [`Disclosure::encoded`], as the SD-JWT references it.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The salt.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The claim name; `None` for an array element.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The claim value as issued (nested disclosable claims appear as digests).
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl std::fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disclosure")
            .field("digest", &self.digest)
            .field("name", &self.name)
            .field("value", &"(redacted)")
            .finish()
    }
}

/// An SD-JWT in compact serialisation, `<issuer JWT>~<disclosure>~...~[<KB-JWT>]`: what an
/// issuer hands out (no Key Binding JWT) and what a holder presents.
///
/// Its `Display` form is the serialisation. Parsing checks the structure and every
/// disclosure's shape, not the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SdJwt {
    issuer_jwt: String,
    disclosures: Vec<Disclosure>,
    key_binding_jwt: Option<String>,
}

impl SdJwt {
    /// Splits the compact serialisation and decodes every disclosure.
    pub fn parse(text: &str) -> Result<SdJwt, TrustError> {
        if text.len() > MAX_SD_JWT_BYTES {
            return Err(TrustError::MalformedSdJwt(format!(
                "{} bytes, more than the {MAX_SD_JWT_BYTES} accepted",
                text.len()
            )));
        }
        let Some((before_key_binding, key_binding)) = text.rsplit_once('~') else {
            return Err(TrustError::MalformedSdJwt(
                "no ~ separator: not an SD-JWT in compact serialisation".to_owned(),
            ));
        };
        let mut parts = before_key_binding.split('~');
        let issuer_jwt = parts.next().unwrap_or_default();
        if !is_compact_jws(issuer_jwt) {
            return Err(TrustError::MalformedSdJwt(
                "the issuer-signed JWT is not a compact JWS".to_owned(),
            ));
        }
        let disclosures = parts
            .map(|part| {
                if part.is_empty() {
                    Err(TrustError::MalformedSdJwt(
                        "an empty disclosure (two ~ in a row)".to_owned(),
                    ))
                } else {
                    Disclosure::parse(part)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key_binding_jwt = match key_binding {
            "" => None,
            jwt if is_compact_jws(jwt) => Some(jwt.to_owned()),
            _ => {
                return Err(TrustError::MalformedSdJwt(
                    "the key binding JWT is not a compact JWS".to_owned(),
                ));
            }
        };
        Ok(SdJwt {
            issuer_jwt: issuer_jwt.to_owned(),
            disclosures,
            key_binding_jwt,
        })
    }

    /// The issuer-signed JWT.
    pub fn issuer_jwt(&self) -> &str {
        &self.issuer_jwt
    }

    /// The disclosures, in the order they are serialised.
    pub fn disclosures(&self) -> &[Disclosure] {
        &self.disclosures
    }

    /// The Key Binding JWT, when there is one.
    pub fn key_binding_jwt(&self) -> Option<&str> {
        self.key_binding_jwt.as_deref()
    }

    /// `<issuer JWT>~<disclosure>~...~`: the serialisation without a Key Binding JWT, over
    /// which `sd_hash` is computed.
    pub fn without_key_binding(&self) -> String {
        let mut text = self.issuer_jwt.clone();
        text.push('~');
        for disclosure in &self.disclosures {
            text.push_str(&disclosure.encoded);
            text.push('~');
        }
        text
    }
}

impl std::fmt::Display for SdJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.without_key_binding())?;
        f.write_str(self.key_binding_jwt.as_deref().unwrap_or_default())
    }
}

impl std::fmt::Debug for SdJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdJwt")
            .field("disclosures", &self.disclosures)
            .field("key_binding", &self.key_binding_jwt.is_some())
            .finish_non_exhaustive()
    }
}

fn is_compact_jws(text: &str) -> bool {
    text.split('.').count() == 3
}

/// The base64url (no padding) SHA-256 of the US-ASCII bytes of `text`: a disclosure's digest,
/// a decoy digest, `sd_hash`.
fn sha256_base64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

// ------------------------------------------------------------------------------------------
// JSON pointers (RFC 6901)
// ------------------------------------------------------------------------------------------

/// The reference tokens of a JSON pointer, unescaped. The empty pointer (the whole document)
/// is refused: only members and elements can be disclosable.
fn parse_pointer(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Err("the empty pointer names the whole payload, not a claim".to_owned());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err("a JSON pointer starts with /".to_owned());
    };
    rest.split('/')
        .map(|token| {
            let mut unescaped = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    unescaped.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => unescaped.push('~'),
                    Some('1') => unescaped.push('/'),
                    _ => return Err("~ must be followed by 0 or 1".to_owned()),
                }
            }
            Ok(unescaped)
        })
        .collect()
}

/// The JSON pointer of `tokens`, escaped.
fn pointer_string(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|token| format!("/{}", token.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A path for messages: its pointer, or `the top level`.
fn describe_path(tokens: &[String]) -> String {
    if tokens.is_empty() {
        "the top level".to_owned()
    } else {
        truncate_for_message(&pointer_string(tokens))
    }
}

// ------------------------------------------------------------------------------------------
// Issuance
// ------------------------------------------------------------------------------------------

/// How [`issue_sd_jwt`] shapes the SD-JWT.
#[derive(Clone, Copy, Debug)]
pub struct IssuanceOptions<'a> {
    /// The JWS `typ`; [`SD_JWT_VC_TYP`] by default, [`EXAMPLE_SD_JWT_TYP`] for RFC 9901's
    /// plain examples.
    pub typ: &'a str,
    /// The JWS `kid`, e.g. [`crate::did::key_id_url`] of the issuer's DID and key.
    pub kid: Option<&'a str>,
    /// The holder's public key, written as `cnf: {"jwk": ...}` to allow key binding.
    pub holder_key: Option<&'a Jwk>,
    /// Decoy digests added to every `_sd` array and every array with a disclosable element,
    /// so that a verifier cannot count the undisclosed claims.
    pub decoys: usize,
}

impl Default for IssuanceOptions<'_> {
    fn default() -> Self {
        IssuanceOptions {
            typ: SD_JWT_VC_TYP,
            kid: None,
            holder_key: None,
            decoys: 0,
        }
    }
}

/// Issues an SD-JWT over `claims` (a JSON object) in which the claims at the JSON pointers
/// `disclosable` are selectively disclosable, signed `EdDSA` by `issuer_key`.
///
/// A pointer may name an object member (`/address`) or an array element
/// (`/nationalities/1`), at any depth and inside another disclosable claim
/// (`/address` and `/address/street` makes both disclosable: the street can only be shown
/// with the address). `_sd_alg` is `sha-256`; digests in `_sd` are sorted, so that their order
/// says nothing about the order of the claims.
///
/// Refused: claims that are not an object; a pointer that is malformed or names no claim;
/// claim names `_sd`, `_sd_alg` and `...` anywhere in `claims`; a `cnf` claim when
/// `holder_key` is given; an unusable `holder_key`; for [`SD_JWT_VC_TYP`], a missing `vct`
/// and pointers to the claims SD-JWT VC keeps visible.
pub fn issue_sd_jwt<R: RngCore + CryptoRng>(
    claims: &Value,
    disclosable: &[&str],
    issuer_key: &KeyPair,
    options: &IssuanceOptions<'_>,
    rng: &mut R,
) -> Result<SdJwt, TrustError> {
    let refuse = |reason: String| Err(TrustError::SdJwtIssuance(reason));
    let Value::Object(claims) = claims else {
        return refuse("the claims are not a JSON object".to_owned());
    };
    let vc = options.typ == SD_JWT_VC_TYP;
    if vc && !claims.get("vct").is_some_and(Value::is_string) {
        return refuse(format!(
            "an SD-JWT VC ({SD_JWT_VC_TYP}) needs a string vct claim"
        ));
    }
    let mut paths = BTreeSet::new();
    for pointer in disclosable {
        let tokens = parse_pointer(pointer)
            .map_err(|reason| TrustError::SdJwtIssuance(format!("path {pointer:?}: {reason}")))?;
        if let [claim] = tokens.as_slice() {
            if vc && SD_JWT_VC_ALWAYS_VISIBLE.contains(&claim.as_str()) {
                return refuse(format!(
                    "an SD-JWT VC must not make {claim} selectively disclosable"
                ));
            }
        }
        paths.insert(tokens);
    }
    if let Some(holder_key) = options.holder_key {
        if claims.contains_key("cnf") {
            return refuse("the claims already hold cnf; the holder key would replace it".into());
        }
        holder_key
            .verifying_key()
            .map_err(|error| TrustError::SdJwtIssuance(format!("holder key: {error}")))?;
    }

    let mut concealer = Concealer {
        rng,
        paths: &paths,
        matched: BTreeSet::new(),
        disclosures: Vec::new(),
        decoys: options.decoys,
    };
    let mut payload = concealer.object(claims, &mut Vec::new())?;
    if let Some(unmatched) = paths.difference(&concealer.matched).next() {
        return refuse(format!(
            "path {} names no claim",
            truncate_for_message(&pointer_string(unmatched))
        ));
    }
    payload.insert(SD_ALG_CLAIM.to_owned(), Value::String(SD_ALG.to_owned()));
    if let Some(holder_key) = options.holder_key {
        payload.insert("cnf".to_owned(), json!({ "jwk": holder_key }));
    }
    let header = JwsHeader {
        alg: "EdDSA".to_owned(),
        typ: Some(options.typ.to_owned()),
        kid: options.kid.map(str::to_owned),
        cty: None,
        crit: None,
    };
    Ok(SdJwt {
        issuer_jwt: jws::sign(header, &Value::Object(payload), issuer_key),
        disclosures: concealer.disclosures,
        key_binding_jwt: None,
    })
}

/// Replaces the disclosable claims by digests, bottom-up, collecting the disclosures.
struct Concealer<'a, R> {
    rng: &'a mut R,
    paths: &'a BTreeSet<Vec<String>>,
    matched: BTreeSet<Vec<String>>,
    disclosures: Vec<Disclosure>,
    decoys: usize,
}

impl<R: RngCore + CryptoRng> Concealer<'_, R> {
    fn value(&mut self, value: &Value, path: &mut Vec<String>) -> Result<Value, TrustError> {
        Ok(match value {
            Value::Object(members) => Value::Object(self.object(members, path)?),
            Value::Array(items) => Value::Array(self.array(items, path)?),
            other => other.clone(),
        })
    }

    fn object(
        &mut self,
        members: &Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<Map<String, Value>, TrustError> {
        let mut concealed = Map::new();
        let mut digests = Vec::new();
        for (name, value) in members {
            if matches!(name.as_str(), SD_CLAIM | SD_ALG_CLAIM | ARRAY_ELEMENT_KEY) {
                return Err(TrustError::SdJwtIssuance(format!(
                    "claim name {name:?} in {} is reserved by SD-JWT",
                    describe_path(path)
                )));
            }
            path.push(name.clone());
            let value = self.value(value, path)?;
            if self.paths.contains(path) {
                self.matched.insert(path.clone());
                let disclosure = Disclosure::new(self.salt(), Some(name), value);
                digests.push(disclosure.digest.clone());
                self.disclosures.push(disclosure);
            } else {
                concealed.insert(name.clone(), value);
            }
            path.pop();
        }
        if !digests.is_empty() {
            for _ in 0..self.decoys {
                digests.push(self.decoy_digest());
            }
            digests.sort();
            concealed.insert(
                SD_CLAIM.to_owned(),
                digests.into_iter().map(Value::String).collect(),
            );
        }
        Ok(concealed)
    }

    fn array(&mut self, items: &[Value], path: &mut Vec<String>) -> Result<Vec<Value>, TrustError> {
        let mut concealed = Vec::with_capacity(items.len());
        let mut any_disclosable = false;
        for (index, item) in items.iter().enumerate() {
            path.push(index.to_string());
            let value = self.value(item, path)?;
            if self.paths.contains(path) {
                self.matched.insert(path.clone());
                let disclosure = Disclosure::new(self.salt(), None, value);
                concealed.push(json!({ ARRAY_ELEMENT_KEY: disclosure.digest }));
                self.disclosures.push(disclosure);
                any_disclosable = true;
            } else {
                concealed.push(value);
            }
            path.pop();
        }
        if any_disclosable {
            for _ in 0..self.decoys {
                let at = self.rng.gen_range(0..=concealed.len());
                let decoy = self.decoy_digest();
                concealed.insert(at, json!({ ARRAY_ELEMENT_KEY: decoy }));
            }
        }
        Ok(concealed)
    }

    fn salt(&mut self) -> String {
        let mut bytes = [0u8; SALT_BYTES];
        self.rng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A digest of nothing anyone can disclose: the hash of a fresh random salt.
    fn decoy_digest(&mut self) -> String {
        let salt = self.salt();
        sha256_base64url(&salt)
    }
}

// ------------------------------------------------------------------------------------------
// Processing: disclosures back into the payload
// ------------------------------------------------------------------------------------------

/// Where a disclosure's claim sits in the reconstructed payload, and the disclosure that
/// contains it (the one the holder must also present to show it).
struct Placement {
    path: Vec<String>,
    parent: Option<usize>,
}

/// The payload with every given disclosure put back (RFC 9901, section 7.1, step 3), plus,
/// per disclosure (same index), where it was placed.
fn reconstruct(
    payload: &Map<String, Value>,
    disclosures: &[Disclosure],
) -> Result<(Map<String, Value>, Vec<Placement>), TrustError> {
    match payload.get(SD_ALG_CLAIM) {
        // Absent means sha-256 (RFC 9901, section 4.1.1).
        None => {}
        Some(Value::String(alg)) if alg == SD_ALG => {}
        Some(Value::String(alg)) => {
            return Err(TrustError::UnsupportedSdAlg(truncate_for_message(alg)));
        }
        Some(other) => return Err(TrustError::UnsupportedSdAlg(other.to_string())),
    }
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (index, disclosure) in disclosures.iter().enumerate() {
        if by_digest.insert(disclosure.digest(), index).is_some() {
            return Err(TrustError::DuplicateDigest {
                digest: disclosure.digest.clone(),
            });
        }
    }
    let mut walk = Reconstruction {
        disclosures,
        by_digest,
        seen: HashSet::new(),
        placements: disclosures.iter().map(|_| None).collect(),
    };
    let mut top = payload.clone();
    top.remove(SD_ALG_CLAIM);
    let claims = walk.object(&top, &mut Vec::new(), None, 0)?;
    let placements = walk
        .placements
        .into_iter()
        .zip(disclosures)
        .map(|(placement, disclosure)| {
            placement.ok_or_else(|| TrustError::UnreferencedDisclosure {
                digest: disclosure.digest.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((claims, placements))
}

struct Reconstruction<'d> {
    disclosures: &'d [Disclosure],
    by_digest: HashMap<&'d str, usize>,
    /// Every digest met so far, disclosed or not: each may occur once.
    seen: HashSet<String>,
    placements: Vec<Option<Placement>>,
}

impl Reconstruction<'_> {
    fn value(
        &mut self,
        value: &Value,
        path: &mut Vec<String>,
        parent: Option<usize>,
        depth: usize,
    ) -> Result<Value, TrustError> {
        Ok(match value {
            Value::Object(members) => Value::Object(self.object(members, path, parent, depth)?),
            Value::Array(items) => Value::Array(self.array(items, path, parent, depth)?),
            other => other.clone(),
        })
    }

    fn object(
        &mut self,
        members: &Map<String, Value>,
        path: &mut Vec<String>,
        parent: Option<usize>,
        depth: usize,
    ) -> Result<Map<String, Value>, TrustError> {
        check_depth(depth, path)?;
        let mut claims = Map::new();
        for (name, value) in members {
            match name.as_str() {
                SD_CLAIM => continue,
                SD_ALG_CLAIM => {
                    return Err(TrustError::MalformedSdJwt(format!(
                        "_sd_alg in {}; it is allowed only at the top level",
                        describe_path(path)
                    )));
                }
                _ => {}
            }
            path.push(name.clone());
            let value = self.value(value, path, parent, depth + 1)?;
            path.pop();
            claims.insert(name.clone(), value);
        }
        let Some(digests) = members.get(SD_CLAIM) else {
            return Ok(claims);
        };
        let Value::Array(digests) = digests else {
            return Err(TrustError::MalformedSdJwt(format!(
                "_sd in {} is not an array",
                describe_path(path)
            )));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(TrustError::MalformedSdJwt(format!(
                    "_sd in {} holds something other than a digest string",
                    describe_path(path)
                )));
            };
            let Some(index) = self.referenced(digest)? else {
                continue;
            };
            let disclosure = &self.disclosures[index];
            let Some(name) = disclosure.name() else {
                return Err(TrustError::DisclosureShapeMismatch {
                    digest: digest.clone(),
                    found: "an array element disclosure",
                    referenced_from: format!("from _sd in {}", describe_path(path)),
                });
            };
            if claims.contains_key(name) {
                return Err(TrustError::DisclosedClaimCollision {
                    digest: digest.clone(),
                    name: truncate_for_message(name),
                    path: describe_path(path),
                });
            }
            path.push(name.to_owned());
            self.placements[index] = Some(Placement {
                path: path.clone(),
                parent,
            });
            let value = self.value(disclosure.value(), path, Some(index), depth + 1)?;
            path.pop();
            claims.insert(name.to_owned(), value);
        }
        Ok(claims)
    }

    fn array(
        &mut self,
        items: &[Value],
        path: &mut Vec<String>,
        parent: Option<usize>,
        depth: usize,
    ) -> Result<Vec<Value>, TrustError> {
        check_depth(depth, path)?;
        let mut elements = Vec::with_capacity(items.len());
        for item in items {
            let placeholder = match item {
                Value::Object(members) if members.contains_key(ARRAY_ELEMENT_KEY) => {
                    match (members.len(), &members[ARRAY_ELEMENT_KEY]) {
                        (1, Value::String(digest)) => Some(digest),
                        _ => {
                            return Err(TrustError::MalformedSdJwt(format!(
                                "an element of the array at {} has a ... member but is not \
                                 {{\"...\": \"<digest>\"}}",
                                describe_path(path)
                            )));
                        }
                    }
                }
                _ => None,
            };
            path.push(elements.len().to_string());
            match placeholder {
                None => {
                    let value = self.value(item, path, parent, depth + 1)?;
                    elements.push(value);
                }
                Some(digest) => {
                    // An undisclosed element (or a decoy) simply disappears.
                    if let Some(index) = self.referenced(digest)? {
                        let disclosure = &self.disclosures[index];
                        if disclosure.name().is_some() {
                            path.pop();
                            return Err(TrustError::DisclosureShapeMismatch {
                                digest: digest.clone(),
                                found: "an object property disclosure",
                                referenced_from: format!(
                                    "from an element of the array at {}",
                                    describe_path(path)
                                ),
                            });
                        }
                        self.placements[index] = Some(Placement {
                            path: path.clone(),
                            parent,
                        });
                        let value = self.value(disclosure.value(), path, Some(index), depth + 1)?;
                        elements.push(value);
                    }
                }
            }
            path.pop();
        }
        Ok(elements)
    }

    /// Records that `digest` occurred; the index of its disclosure, if it was presented.
    fn referenced(&mut self, digest: &str) -> Result<Option<usize>, TrustError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(TrustError::DuplicateDigest {
                digest: truncate_for_message(digest),
            });
        }
        Ok(self.by_digest.get(digest).copied())
    }
}

fn check_depth(depth: usize, path: &[String]) -> Result<(), TrustError> {
    if depth > MAX_NESTING {
        return Err(TrustError::MalformedSdJwt(format!(
            "nested more than {MAX_NESTING} levels deep at {}",
            describe_path(path)
        )));
    }
    Ok(())
}

/// The holder's key from `cnf.jwk` (the only confirmation method supported).
fn holder_key_of(claims: &Map<String, Value>) -> Result<Jwk, TrustError> {
    let cnf = claims.get("cnf").ok_or(TrustError::MissingClaim("cnf"))?;
    let jwk = cnf.get("jwk").ok_or_else(|| TrustError::InvalidClaim {
        claim: "cnf",
        reason: "has no jwk (the only confirmation method supported)".to_owned(),
    })?;
    let jwk: Jwk =
        serde_json::from_value(jwk.clone()).map_err(|error| TrustError::InvalidClaim {
            claim: "cnf",
            reason: format!("jwk: {error}"),
        })?;
    jwk.verifying_key()?;
    Ok(jwk)
}

/// The issuer JWT's payload without checking its signature (the holder may not know the
/// issuer's key, and needs the structure only).
fn unverified_payload(sd_jwt: &SdJwt) -> Result<Map<String, Value>, TrustError> {
    match jws::decode_unverified(&sd_jwt.issuer_jwt)?.1 {
        Value::Object(payload) => Ok(payload),
        _ => Err(TrustError::MalformedJws(
            "payload is not a JSON object".to_owned(),
        )),
    }
}

// ------------------------------------------------------------------------------------------
// Presentation (holder)
// ------------------------------------------------------------------------------------------

/// Which claims a holder discloses.
pub struct Selection<'a> {
    kind: SelectionKind<'a>,
}

enum SelectionKind<'a> {
    /// Pointer text and its tokens.
    Paths(Vec<(String, Vec<String>)>),
    Predicate(Box<ClaimPredicate<'a>>),
}

/// Decides on one disclosable claim, given its JSON pointer and its fully disclosed value.
type ClaimPredicate<'a> = dyn Fn(&str, &Value) -> bool + 'a;

impl<'a> Selection<'a> {
    /// The claims at these JSON pointers into the full (all disclosed) payload, with
    /// everything beneath them, and the disclosures of the objects and arrays that contain
    /// them. Array indices count the elements of the full array. A pointer that names no claim
    /// is refused when presenting; pointers to claims that were never concealed are allowed
    /// (they disclose their concealed ancestors and descendants, if any).
    pub fn paths(pointers: &[&str]) -> Result<Selection<'static>, TrustError> {
        let paths = pointers
            .iter()
            .map(|pointer| {
                parse_pointer(pointer)
                    .map(|tokens| ((*pointer).to_owned(), tokens))
                    .map_err(|reason| {
                        TrustError::SdJwtPresentation(format!("path {pointer:?}: {reason}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selection {
            kind: SelectionKind::Paths(paths),
        })
    }

    /// Every disclosable claim for which `predicate(pointer, value)` holds, with the
    /// disclosures that contain it. `value` is the claim as fully disclosed; nested
    /// disclosable claims are asked about separately.
    pub fn matching(predicate: impl Fn(&str, &Value) -> bool + 'a) -> Selection<'a> {
        Selection {
            kind: SelectionKind::Predicate(Box::new(predicate)),
        }
    }

    /// No disclosable claim: only what the issuer never concealed.
    pub fn nothing() -> Selection<'static> {
        Selection {
            kind: SelectionKind::Paths(Vec::new()),
        }
    }
}

impl std::fmt::Debug for Selection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            SelectionKind::Paths(paths) => f
                .debug_tuple("Selection::paths")
                .field(&paths.iter().map(|(text, _)| text).collect::<Vec<_>>())
                .finish(),
            SelectionKind::Predicate(_) => f.write_str("Selection::matching(..)"),
        }
    }
}

/// What a Key Binding JWT is made for.
#[derive(Clone, Copy, Debug)]
pub struct KeyBindingTarget<'a> {
    /// The verifier (`aud`).
    pub audience: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
}

/// A presentation of `sd_jwt` with the disclosures `selection` needs and no Key Binding JWT.
///
/// The SD-JWT's structure is checked as a verifier would, its signature is not: a holder
/// checks an SD-JWT it receives with [`verify_sd_jwt`] once, on receipt. An SD-JWT that
/// already carries a Key Binding JWT is refused (RFC 9901, section 7.2: a holder receives an
/// SD-JWT, never an SD-JWT+KB).
pub fn present_sd_jwt(sd_jwt: &SdJwt, selection: &Selection<'_>) -> Result<SdJwt, TrustError> {
    select(sd_jwt, selection).map(|(presentation, _)| presentation)
}

/// [`present_sd_jwt`] followed by a Key Binding JWT signed by `holder_key`:
/// header `{"alg":"EdDSA","typ":"kb+jwt"}`, claims `iat` (`now`), `aud`, `nonce` and
/// `sd_hash`, the digest of the presentation up to and including its last `~`.
///
/// Refused when the SD-JWT's `cnf` does not name `holder_key` (the verifier would refuse it).
pub fn present_sd_jwt_with_key_binding(
    sd_jwt: &SdJwt,
    selection: &Selection<'_>,
    holder_key: &KeyPair,
    target: &KeyBindingTarget<'_>,
    now: DateTime<Utc>,
) -> Result<SdJwt, TrustError> {
    let (mut presentation, claims) = select(sd_jwt, selection)?;
    let bound_key = holder_key_of(&claims)?;
    if bound_key.verifying_key()? != PublicKey::Ed25519(holder_key.verifying_key()) {
        return Err(TrustError::SdJwtPresentation(
            "the SD-JWT is bound (cnf) to another key than the holder's".to_owned(),
        ));
    }
    let claims = json!({
        "iat": now.timestamp(),
        "aud": target.audience,
        "nonce": target.nonce,
        "sd_hash": sha256_base64url(&presentation.without_key_binding()),
    });
    let header = JwsHeader {
        alg: "EdDSA".to_owned(),
        typ: Some(KB_JWT_TYP.to_owned()),
        kid: None,
        cty: None,
        crit: None,
    };
    presentation.key_binding_jwt = Some(jws::sign(header, &claims, holder_key));
    Ok(presentation)
}

/// The presentation without key binding, and the fully disclosed claims.
fn select(
    sd_jwt: &SdJwt,
    selection: &Selection<'_>,
) -> Result<(SdJwt, Map<String, Value>), TrustError> {
    if sd_jwt.key_binding_jwt.is_some() {
        return Err(TrustError::SdJwtPresentation(
            "the SD-JWT already carries a key binding JWT".to_owned(),
        ));
    }
    let payload = unverified_payload(sd_jwt)?;
    let (claims, placements) = reconstruct(&payload, &sd_jwt.disclosures)?;
    let full = Value::Object(claims);
    let mut keep = vec![false; placements.len()];
    match &selection.kind {
        SelectionKind::Paths(paths) => {
            for (pointer, _) in paths {
                if full.pointer(pointer).is_none() {
                    return Err(TrustError::SdJwtPresentation(format!(
                        "path {} names no claim of the SD-JWT",
                        truncate_for_message(pointer)
                    )));
                }
            }
            for (keep, placement) in keep.iter_mut().zip(&placements) {
                // Selected itself, inside a selected claim, or containing one.
                *keep = paths.iter().any(|(_, selected)| {
                    placement.path.starts_with(selected) || selected.starts_with(&placement.path)
                });
            }
        }
        SelectionKind::Predicate(predicate) => {
            for (index, placement) in placements.iter().enumerate() {
                let pointer = pointer_string(&placement.path);
                let value = full.pointer(&pointer).unwrap_or(&Value::Null);
                if predicate(&pointer, value) {
                    let mut next = Some(index);
                    while let Some(at) = next {
                        keep[at] = true;
                        next = placements[at].parent;
                    }
                }
            }
        }
    }
    let disclosures = sd_jwt
        .disclosures
        .iter()
        .zip(keep)
        .filter(|(_, keep)| *keep)
        .map(|(disclosure, _)| disclosure.clone())
        .collect();
    let presentation = SdJwt {
        issuer_jwt: sd_jwt.issuer_jwt.clone(),
        disclosures,
        key_binding_jwt: None,
    };
    let claims = match full {
        Value::Object(claims) => claims,
        _ => Map::new(),
    };
    Ok((presentation, claims))
}

// ------------------------------------------------------------------------------------------
// Verification (verifier)
// ------------------------------------------------------------------------------------------

/// What the verifier requires of an SD-JWT presentation.
#[derive(Clone, Copy, Debug)]
pub struct SdJwtExpectations<'a> {
    /// The `typ` the issuer JWT must carry.
    pub typ: &'static str,
    /// `Some`: a Key Binding JWT is required and must meet these. `None`: key binding is not
    /// required, and a Key Binding JWT that comes along is ignored.
    pub key_binding: Option<KeyBindingExpectations<'a>>,
}

impl Default for SdJwtExpectations<'_> {
    fn default() -> Self {
        SdJwtExpectations {
            typ: SD_JWT_VC_TYP,
            key_binding: None,
        }
    }
}

/// What a required Key Binding JWT must say.
#[derive(Clone, Copy, Debug)]
pub struct KeyBindingExpectations<'a> {
    /// The verifier's own identifier; `aud` must name it.
    pub audience: &'a str,
    /// The nonce the verifier sent.
    pub nonce: &'a str,
    /// How old `iat` may be (plus [`CLOCK_SKEW`]).
    pub max_age: Duration,
}

/// An SD-JWT whose signature, disclosures and (when required) key binding were checked by
/// [`verify_sd_jwt`] or [`verify_sd_jwt_with_resolver`]. Only this crate can build one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedSdJwt {
    /// The issuer JWT's protected header.
    pub header: JwsHeader,
    /// The claims the issuer left visible and those the holder disclosed, without `_sd`,
    /// `_sd_alg` and the placeholders of undisclosed array elements.
    pub claims: Map<String, Value>,
    /// The checked key binding; `None` when the verifier did not require one.
    pub key_binding: Option<VerifiedKeyBinding>,
}

/// A checked Key Binding JWT.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VerifiedKeyBinding {
    /// The holder's key (`cnf.jwk`), which signed the Key Binding JWT.
    pub holder_key: Jwk,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
}

/// Verifies an SD-JWT presentation with the issuer's key:
///
/// 1. the compact serialisation splits, and every disclosure is well-formed;
/// 2. the issuer JWT's `typ` is the expected one and its signature verifies with
///    `issuer_key` (`EdDSA` or `ES256`, fitting the key);
/// 3. `_sd_alg` is `sha-256` (or absent); every disclosure is referenced exactly once, in the
///    shape its place demands, without name collisions; no digest occurs twice;
/// 4. `exp` and `nbf`, when present, hold at `now` (with [`CLOCK_SKEW`]); an SD-JWT VC has a
///    `vct`;
/// 5. when key binding is required: a Key Binding JWT with `typ` `kb+jwt`, signed by the
///    `cnf.jwk` key, whose `aud` and `nonce` are the expected ones, whose `iat` is neither in
///    the future nor older than `max_age`, and whose `sd_hash` is the digest of the
///    presentation before it.
pub fn verify_sd_jwt(
    presentation: &str,
    issuer_key: &Jwk,
    expected: &SdJwtExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedSdJwt, TrustError> {
    let sd_jwt = SdJwt::parse(presentation)?;
    verify_parsed(&sd_jwt, issuer_key, expected, now)
}

/// [`verify_sd_jwt`] with the issuer's key taken from its DID document, as for `vc+jwt`:
/// `iss` (visible, never disclosable) is the issuer's DID, the issuer must be trusted for the
/// credential type `vct` *before* its DID is resolved, and the header `kid` must name a key
/// of that document listed under `assertionMethod`.
pub async fn verify_sd_jwt_with_resolver(
    presentation: &str,
    resolver: &dyn DidResolver,
    trusted_issuers: &TrustedIssuers,
    expected: &SdJwtExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedSdJwt, TrustError> {
    let sd_jwt = SdJwt::parse(presentation)?;
    let (header, _) = jws::decode_unverified(&sd_jwt.issuer_jwt)?;
    check_typ(&header, expected.typ)?;
    let payload = unverified_payload(&sd_jwt)?;
    let issuer = payload
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(TrustError::MissingClaim("iss"))?;
    let credential_type = payload
        .get("vct")
        .and_then(Value::as_str)
        .ok_or(TrustError::MissingClaim("vct"))?;
    if !trusted_issuers.is_trusted(credential_type, issuer) {
        return Err(TrustError::UntrustedIssuer {
            issuer: truncate_for_message(issuer),
            types: truncate_for_message(credential_type),
        });
    }
    let document = resolve_checked(resolver, issuer).await?;
    let key = document.key_for(header.kid.as_deref(), Relationship::AssertionMethod)?;
    verify_parsed(&sd_jwt, &key, expected, now)
}

fn check_typ(header: &JwsHeader, expected: &'static str) -> Result<(), TrustError> {
    if header.typ.as_deref() != Some(expected) {
        return Err(TrustError::WrongTokenType {
            expected,
            found: header.typ.as_deref().map(truncate_for_message),
        });
    }
    Ok(())
}

fn verify_parsed(
    sd_jwt: &SdJwt,
    issuer_key: &Jwk,
    expected: &SdJwtExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedSdJwt, TrustError> {
    let (header, payload) = jws::verify(&sd_jwt.issuer_jwt, issuer_key)?;
    check_typ(&header, expected.typ)?;
    let Value::Object(payload) = payload else {
        return Err(TrustError::MalformedJws(
            "payload is not a JSON object".to_owned(),
        ));
    };
    let (claims, _) = reconstruct(&payload, &sd_jwt.disclosures)?;
    if header.typ.as_deref() == Some(SD_JWT_VC_TYP)
        && !claims.get("vct").is_some_and(Value::is_string)
    {
        return Err(TrustError::MissingClaim("vct"));
    }
    // Validity claims are read after disclosure: an issuer may have concealed them.
    if let Some(at) = numeric_date(&claims, "exp")? {
        if now >= at + CLOCK_SKEW {
            return Err(TrustError::Expired {
                what: "SD-JWT".to_owned(),
                at,
            });
        }
    }
    if let Some(from) = numeric_date(&claims, "nbf")? {
        if now + CLOCK_SKEW < from {
            return Err(TrustError::NotYetValid {
                what: "SD-JWT".to_owned(),
                from,
            });
        }
    }
    let key_binding = match &expected.key_binding {
        None => None,
        Some(expected) => Some(verify_key_binding(sd_jwt, &claims, expected, now)?),
    };
    Ok(VerifiedSdJwt {
        header,
        claims,
        key_binding,
    })
}

fn verify_key_binding(
    sd_jwt: &SdJwt,
    claims: &Map<String, Value>,
    expected: &KeyBindingExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedKeyBinding, TrustError> {
    let jwt = sd_jwt
        .key_binding_jwt
        .as_deref()
        .ok_or(TrustError::KeyBindingMissing)?;
    let holder_key = holder_key_of(claims)?;
    let (header, _) = jws::decode_unverified(jwt)?;
    if header.typ.as_deref() != Some(KB_JWT_TYP) {
        return Err(TrustError::WrongTokenType {
            expected: KB_JWT_TYP,
            found: header.typ.as_deref().map(truncate_for_message),
        });
    }
    let (_, payload) = jws::verify(jwt, &holder_key)?;
    let Value::Object(payload) = payload else {
        return Err(TrustError::MalformedJws(
            "payload is not a JSON object".to_owned(),
        ));
    };

    let issued_at = numeric_date(&payload, "iat")?.ok_or(TrustError::MissingClaim("iat"))?;
    if issued_at > now + CLOCK_SKEW {
        return Err(TrustError::IssuedInFuture { iat: issued_at });
    }
    if now > issued_at + expected.max_age + CLOCK_SKEW {
        return Err(TrustError::Expired {
            what: "key binding JWT".to_owned(),
            at: issued_at + expected.max_age,
        });
    }

    // RFC 9901, section 4.3: a single string, not the array a JWT would allow.
    let audience = match payload.get("aud") {
        None => return Err(TrustError::MissingClaim("aud")),
        Some(Value::String(audience)) => audience,
        Some(_) => {
            return Err(TrustError::InvalidClaim {
                claim: "aud",
                reason: "must be a single string in a key binding JWT".to_owned(),
            });
        }
    };
    if audience != expected.audience {
        return Err(TrustError::WrongAudience {
            expected: expected.audience.to_owned(),
            found: vec![truncate_for_message(audience)],
        });
    }
    let nonce = payload.get("nonce").and_then(Value::as_str);
    if nonce != Some(expected.nonce) {
        return Err(TrustError::NonceMismatch {
            expected: expected.nonce.to_owned(),
            found: nonce.map(truncate_for_message),
        });
    }
    let sd_hash = payload
        .get("sd_hash")
        .and_then(Value::as_str)
        .ok_or(TrustError::MissingClaim("sd_hash"))?;
    if sd_hash != sha256_base64url(&sd_jwt.without_key_binding()) {
        return Err(TrustError::SdHashMismatch);
    }
    Ok(VerifiedKeyBinding {
        holder_key,
        issued_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    const VCT: &str = "https://passport.example/BatteryPassport";

    fn issuer() -> KeyPair {
        KeyPair::from_secret_bytes(&[11; 32])
    }

    fn holder() -> KeyPair {
        KeyPair::from_secret_bytes(&[22; 32])
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(9901)
    }

    /// A battery passport with a public part, supplier details for legitimate interest and a
    /// due-diligence report for authorities.
    fn passport() -> Value {
        json!({
            "iss": "did:web:cells.example",
            "vct": VCT,
            "iat": 1_799_000_000,
            "batteryId": "BAT-2027-0001",
            "chemistry": "NMC811",
            "manufacturer": {
                "name": "Cell Maker KK",
                "country": "JP",
                "plant": {"city": "Kobe", "line": "L3-secret-line"}
            },
            "materials": [
                {"name": "cobalt", "share": 0.06, "supplier": "secret-cobalt-supplier"},
                {"name": "lithium", "share": 0.08, "supplier": "secret-lithium-supplier"},
                "recycled-nickel-secret-grade"
            ],
            "dueDiligence": {"auditor": "Audit Co secret", "report": "confidential-report-2027"}
        })
    }

    const PASSPORT_DISCLOSABLE: [&str; 10] = [
        "/chemistry",
        "/manufacturer/plant",
        "/manufacturer/plant/line",
        "/materials/0",
        "/materials/0/supplier",
        "/materials/1",
        "/materials/1/supplier",
        "/materials/2",
        "/dueDiligence",
        "/dueDiligence/report",
    ];

    fn issue_passport(options: &IssuanceOptions<'_>) -> SdJwt {
        issue_sd_jwt(
            &passport(),
            &PASSPORT_DISCLOSABLE,
            &issuer(),
            options,
            &mut rng(),
        )
        .unwrap()
    }

    fn verify(presentation: &SdJwt) -> Result<VerifiedSdJwt, TrustError> {
        verify_sd_jwt(
            &presentation.to_string(),
            &issuer().public_jwk(),
            &SdJwtExpectations::default(),
            now(),
        )
    }

    fn present(sd_jwt: &SdJwt, paths: &[&str]) -> SdJwt {
        present_sd_jwt(sd_jwt, &Selection::paths(paths).unwrap()).unwrap()
    }

    /// Where the presented disclosures land in the verifier's view, sorted.
    fn disclosed_names(presentation: &SdJwt) -> Vec<String> {
        let (_, placements) = reconstruct(
            &unverified_payload(presentation).unwrap(),
            presentation.disclosures(),
        )
        .unwrap();
        let mut names: Vec<String> = placements
            .iter()
            .map(|placement| pointer_string(&placement.path))
            .collect();
        names.sort();
        names
    }

    fn property(name: &str, value: Value) -> Disclosure {
        Disclosure::new(format!("salt-for-{name}"), Some(name), value)
    }

    fn element(value: Value) -> Disclosure {
        Disclosure::new(format!("salt-for-{value}"), None, value)
    }

    /// Signs `payload` as an `example+sd-jwt` followed by `disclosures`: shapes that
    /// `issue_sd_jwt` never makes.
    fn forge(payload: Value, disclosures: &[&Disclosure]) -> String {
        let header = JwsHeader::new(EXAMPLE_SD_JWT_TYP, "k");
        let mut text = jws::sign(header, &payload, &issuer());
        text.push('~');
        for disclosure in disclosures {
            text.push_str(disclosure.encoded());
            text.push('~');
        }
        text
    }

    fn verify_forged(text: &str) -> Result<VerifiedSdJwt, TrustError> {
        let expected = SdJwtExpectations {
            typ: EXAMPLE_SD_JWT_TYP,
            key_binding: None,
        };
        verify_sd_jwt(text, &issuer().public_jwk(), &expected, now())
    }

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    // -------------------------------------------------------------------- RFC 9901 examples

    #[test]
    fn rfc9901_disclosure_and_digest_examples() {
        // RFC 9901, section 4.2.1 (object property) and 4.2.2 (array element), with the
        // digests section 4.2.3 gives for them.
        let family_name = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
        )
        .unwrap();
        assert_eq!(family_name.salt(), "_26bc4LT-ac6q2KI6cBW5es");
        assert_eq!(family_name.name(), Some("family_name"));
        assert_eq!(family_name.value(), &json!("Möbius"));
        assert_eq!(
            family_name.digest(),
            "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
        );

        let country = Disclosure::parse("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0").unwrap();
        assert_eq!(country.salt(), "lklxF5jMYlGTPUovMNIvCA");
        assert_eq!(country.name(), None);
        assert_eq!(country.value(), &json!("FR"));
        assert_eq!(
            country.digest(),
            "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"
        );

        // Section 4.2.1 also shows the same claim encoded differently (escaped umlaut, no
        // spaces, newlines): the same content, each with its own digest, since the digest
        // covers the encoded string, not the JSON value.
        let variants = [
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd",
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Yml1cyJd",
            "WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ",
        ];
        let mut digests = BTreeSet::from([family_name.digest().to_owned()]);
        for variant in variants {
            let parsed = Disclosure::parse(variant).unwrap();
            assert_eq!(
                (parsed.salt(), parsed.name(), parsed.value()),
                (family_name.salt(), family_name.name(), family_name.value())
            );
            digests.insert(parsed.digest().to_owned());
        }
        assert_eq!(digests.len(), 4);
    }

    #[test]
    fn rfc9901_embedding_examples_are_processed() {
        // RFC 9901, sections 4.2.4.1 and 4.2.4.2: the payloads embedding the digests above.
        let family_name = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
        )
        .unwrap();
        let country = Disclosure::parse("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0").unwrap();
        let object = json!({
            "given_name": "Alice",
            "_sd": ["X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"]
        });
        let array = json!({
            "nationalities":
                ["DE", {"...": "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"}, "US"]
        });
        let cases = [
            (
                &object,
                vec![&family_name],
                json!({"given_name": "Alice", "family_name": "Möbius"}),
            ),
            (&object, vec![], json!({"given_name": "Alice"})),
            (
                &array,
                vec![&country],
                json!({"nationalities": ["DE", "FR", "US"]}),
            ),
            (&array, vec![], json!({"nationalities": ["DE", "US"]})),
        ];
        for (payload, disclosures, expected) in cases {
            let claims = verify_forged(&forge(payload.clone(), &disclosures))
                .unwrap()
                .claims;
            assert_eq!(Value::Object(claims), expected);
        }
    }

    #[test]
    fn an_issued_disclosure_digest_is_the_sha256_of_its_encoding() {
        let disclosure = property("family_name", json!("Möbius"));
        let again = Disclosure::parse(disclosure.encoded()).unwrap();
        assert_eq!(again, disclosure);
        assert_eq!(
            disclosure.digest(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(disclosure.encoded().as_bytes()))
        );
    }

    // -------------------------------------------------------------------- issuance

    #[test]
    fn issuance_conceals_members_and_elements_recursively() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let (header, payload) = jws::verify(sd_jwt.issuer_jwt(), &issuer().public_jwk()).unwrap();
        assert_eq!(header.typ.as_deref(), Some(SD_JWT_VC_TYP));
        assert_eq!(header.alg, "EdDSA");
        assert_eq!(payload["_sd_alg"], SD_ALG);
        assert_eq!(payload["batteryId"], "BAT-2027-0001");
        assert!(payload.get("chemistry").is_none());
        assert!(payload.get("dueDiligence").is_none());
        assert_eq!(payload["_sd"].as_array().unwrap().len(), 2);
        // The manufacturer stays visible; its plant is concealed.
        assert_eq!(payload["manufacturer"]["name"], "Cell Maker KK");
        assert!(payload["manufacturer"].get("plant").is_none());
        assert_eq!(payload["manufacturer"]["_sd"].as_array().unwrap().len(), 1);
        // Every element is a placeholder.
        for element in payload["materials"].as_array().unwrap() {
            let digest = element["..."].as_str().unwrap();
            assert_eq!(element.as_object().unwrap().len(), 1);
            assert!(sd_jwt.disclosures().iter().any(|d| d.digest() == digest));
        }
        assert_eq!(sd_jwt.disclosures().len(), PASSPORT_DISCLOSABLE.len());
        // Salts: 128 random bits each, all different.
        let salts: BTreeSet<&str> = sd_jwt.disclosures().iter().map(Disclosure::salt).collect();
        assert_eq!(salts.len(), sd_jwt.disclosures().len());
        for salt in salts {
            assert_eq!(URL_SAFE_NO_PAD.decode(salt).unwrap().len(), SALT_BYTES);
        }
        // The serialisation ends with ~ and parses back.
        let text = sd_jwt.to_string();
        assert!(text.ends_with('~'));
        assert_eq!(SdJwt::parse(&text).unwrap(), sd_jwt);
    }

    #[test]
    fn digests_in_sd_are_sorted_and_decoys_added() {
        let sd_jwt = issue_passport(&IssuanceOptions {
            decoys: 3,
            ..IssuanceOptions::default()
        });
        let payload = unverified_payload(&sd_jwt).unwrap();
        let top: Vec<&str> = payload["_sd"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(top.len(), 2 + 3);
        assert!(top.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(payload["materials"].as_array().unwrap().len(), 3 + 3);
        // Decoys disappear on verification.
        let everything = present_sd_jwt(&sd_jwt, &Selection::matching(|_, _| true)).unwrap();
        assert_eq!(
            Value::Object(verify(&everything).unwrap().claims),
            passport()
        );
    }

    #[test]
    fn issuance_refusals() {
        let holder_jwk = holder().public_jwk();
        let cases: Vec<(Value, Vec<&str>, IssuanceOptions<'_>, &str)> = vec![
            (
                json!([1]),
                vec![],
                IssuanceOptions::default(),
                "not a JSON object",
            ),
            (
                passport(),
                vec!["/nope"],
                IssuanceOptions::default(),
                "path /nope names no claim",
            ),
            (
                passport(),
                vec!["/materials/3"],
                IssuanceOptions::default(),
                "names no claim",
            ),
            (
                passport(),
                vec!["/materials/01"],
                IssuanceOptions::default(),
                "names no claim",
            ),
            (
                passport(),
                vec!["chemistry"],
                IssuanceOptions::default(),
                "starts with /",
            ),
            (
                passport(),
                vec![""],
                IssuanceOptions::default(),
                "whole payload",
            ),
            (
                passport(),
                vec!["/a~2"],
                IssuanceOptions::default(),
                "~ must be followed",
            ),
            (
                json!({"vct": VCT, "a": {"_sd": []}}),
                vec![],
                IssuanceOptions::default(),
                "\"_sd\" in /a is reserved",
            ),
            (
                json!({"vct": VCT, "a": [{"...": "x"}]}),
                vec![],
                IssuanceOptions::default(),
                "\"...\" in /a/0 is reserved",
            ),
            (
                json!({"vct": VCT, "_sd_alg": "sha-256"}),
                vec![],
                IssuanceOptions::default(),
                "reserved",
            ),
            (
                json!({"a": 1}),
                vec![],
                IssuanceOptions::default(),
                "needs a string vct",
            ),
            (
                passport(),
                vec!["/iss"],
                IssuanceOptions::default(),
                "must not make iss",
            ),
            (
                passport(),
                vec!["/vct"],
                IssuanceOptions::default(),
                "must not make vct",
            ),
            (
                json!({"vct": VCT, "cnf": {}}),
                vec![],
                IssuanceOptions {
                    holder_key: Some(&holder_jwk),
                    ..IssuanceOptions::default()
                },
                "already hold cnf",
            ),
        ];
        for (claims, paths, options, expected) in cases {
            let error = issue_sd_jwt(&claims, &paths, &issuer(), &options, &mut rng())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
        // Plain SD-JWTs may conceal iss.
        let plain = IssuanceOptions {
            typ: EXAMPLE_SD_JWT_TYP,
            ..IssuanceOptions::default()
        };
        assert!(
            issue_sd_jwt(
                &json!({"iss": "x"}),
                &["/iss"],
                &issuer(),
                &plain,
                &mut rng()
            )
            .is_ok()
        );
    }

    // -------------------------------------------------------------------- presentation

    #[test]
    fn everything_disclosed_round_trips() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let everything = present_sd_jwt(&sd_jwt, &Selection::matching(|_, _| true)).unwrap();
        assert_eq!(everything.disclosures().len(), PASSPORT_DISCLOSABLE.len());
        let verified = verify(&everything).unwrap();
        assert_eq!(Value::Object(verified.claims), passport());
        assert_eq!(verified.key_binding, None);
        // The issuance itself is a valid presentation of everything.
        assert_eq!(Value::Object(verify(&sd_jwt).unwrap().claims), passport());
    }

    #[test]
    fn nothing_disclosed_leaves_the_visible_claims() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let public = present_sd_jwt(&sd_jwt, &Selection::nothing()).unwrap();
        assert!(public.disclosures().is_empty());
        assert_eq!(
            Value::Object(verify(&public).unwrap().claims),
            json!({
                "iss": "did:web:cells.example",
                "vct": VCT,
                "iat": 1_799_000_000,
                "batteryId": "BAT-2027-0001",
                "manufacturer": {"name": "Cell Maker KK", "country": "JP"},
                "materials": []
            })
        );
    }

    #[test]
    fn a_nested_claim_brings_its_parents_but_not_its_siblings() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let presentation = present(&sd_jwt, &["/manufacturer/plant/line", "/materials/1/name"]);
        assert_eq!(
            disclosed_names(&presentation),
            [
                "/manufacturer/plant",
                "/manufacturer/plant/line",
                "/materials/0"
            ]
        );
        let claims = Value::Object(verify(&presentation).unwrap().claims);
        assert_eq!(
            claims["manufacturer"]["plant"],
            json!({"city": "Kobe", "line": "L3-secret-line"})
        );
        // Element 1 of the full array is the only one disclosed, without its supplier.
        assert_eq!(
            claims["materials"],
            json!([{"name": "lithium", "share": 0.08}])
        );
        assert!(claims.get("dueDiligence").is_none());
        assert!(claims.get("chemistry").is_none());
    }

    #[test]
    fn a_selected_object_brings_everything_beneath_it() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let authority = present(&sd_jwt, &["/dueDiligence", "/materials"]);
        let claims = Value::Object(verify(&authority).unwrap().claims);
        assert_eq!(claims["dueDiligence"], passport()["dueDiligence"]);
        assert_eq!(claims["materials"], passport()["materials"]);
        assert!(claims.get("chemistry").is_none());
    }

    #[test]
    fn a_predicate_selects_claims_and_their_parents() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let suppliers = Selection::matching(|pointer, value| {
            pointer.ends_with("/supplier") && value.as_str().is_some_and(|s| s.contains("cobalt"))
        });
        let presentation = present_sd_jwt(&sd_jwt, &suppliers).unwrap();
        assert_eq!(
            disclosed_names(&presentation),
            ["/materials/0", "/materials/0/supplier"]
        );
        let claims = Value::Object(verify(&presentation).unwrap().claims);
        assert_eq!(claims["materials"], json!([passport()["materials"][0]]));
    }

    #[test]
    fn a_public_presentation_never_contains_undisclosed_values() {
        let sd_jwt = issue_passport(&IssuanceOptions {
            decoys: 2,
            ..IssuanceOptions::default()
        });
        let public = present(&sd_jwt, &["/chemistry", "/manufacturer/name"]);
        let text = public.to_string();
        // Every part, raw and decoded: the JWT's header and payload, each disclosure.
        let mut decoded: Vec<Vec<u8>> = vec![text.clone().into_bytes()];
        for part in text.split(['~', '.']) {
            if let Ok(bytes) = URL_SAFE_NO_PAD.decode(part) {
                decoded.push(bytes);
            }
        }
        assert!(decoded.len() > 3);
        let contains = |needle: &str| {
            decoded.iter().any(|haystack| {
                haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes())
            })
        };
        assert!(contains("NMC811"));
        for secret in [
            "secret-cobalt-supplier",
            "secret-lithium-supplier",
            "recycled-nickel-secret-grade",
            "L3-secret-line",
            "Kobe",
            "confidential-report-2027",
            "Audit Co secret",
            "lithium",
            "cobalt",
        ] {
            assert!(!contains(secret), "the public view contains {secret}");
        }
        // Nor does the Debug form of the full SD-JWT.
        let debug = format!("{sd_jwt:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn presentation_refusals() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let error = present_sd_jwt(&sd_jwt, &Selection::paths(&["/nowhere"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nowhere names no claim"), "{error}");
        assert!(matches!(
            Selection::paths(&["chemistry"]),
            Err(TrustError::SdJwtPresentation(_))
        ));
        // A holder is handed an SD-JWT, never an SD-JWT+KB.
        let with_kb = SdJwt::parse(&format!("{sd_jwt}a.b.c")).unwrap();
        assert!(matches!(
            present_sd_jwt(&with_kb, &Selection::nothing()),
            Err(TrustError::SdJwtPresentation(_))
        ));
        // Key binding needs cnf, and the holder's own key.
        let target = KeyBindingTarget {
            audience: "did:web:pack.example",
            nonce: "n",
        };
        assert_eq!(
            present_sd_jwt_with_key_binding(
                &sd_jwt,
                &Selection::nothing(),
                &holder(),
                &target,
                now()
            )
            .unwrap_err(),
            TrustError::MissingClaim("cnf")
        );
        let holder_jwk = holder().public_jwk();
        let bound = issue_passport(&IssuanceOptions {
            holder_key: Some(&holder_jwk),
            ..IssuanceOptions::default()
        });
        let error = present_sd_jwt_with_key_binding(
            &bound,
            &Selection::nothing(),
            &issuer(),
            &target,
            now(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("another key"), "{error}");
    }

    // -------------------------------------------------------------------- key binding

    fn bound_passport() -> SdJwt {
        let holder_jwk = holder().public_jwk();
        issue_passport(&IssuanceOptions {
            holder_key: Some(&holder_jwk),
            kid: Some("did:web:cells.example#key-1"),
            ..IssuanceOptions::default()
        })
    }

    const TARGET: KeyBindingTarget<'static> = KeyBindingTarget {
        audience: "did:web:pack.example",
        nonce: "nonce-1",
    };

    fn kb_expectations() -> SdJwtExpectations<'static> {
        SdJwtExpectations {
            typ: SD_JWT_VC_TYP,
            key_binding: Some(KeyBindingExpectations {
                audience: "did:web:pack.example",
                nonce: "nonce-1",
                max_age: Duration::minutes(5),
            }),
        }
    }

    fn verify_bound(presentation: &str, at: DateTime<Utc>) -> Result<VerifiedSdJwt, TrustError> {
        verify_sd_jwt(presentation, &issuer().public_jwk(), &kb_expectations(), at)
    }

    fn kb_present(paths: &[&str], at: DateTime<Utc>) -> SdJwt {
        present_sd_jwt_with_key_binding(
            &bound_passport(),
            &Selection::paths(paths).unwrap(),
            &holder(),
            &TARGET,
            at,
        )
        .unwrap()
    }

    /// A Key Binding JWT over `presentation` with the given header and claims.
    fn key_binding_jwt(typ: &str, claims: Value, key: &KeyPair) -> String {
        let header = JwsHeader {
            alg: "EdDSA".to_owned(),
            typ: Some(typ.to_owned()),
            kid: None,
            cty: None,
            crit: None,
        };
        jws::sign(header, &claims, key)
    }

    #[test]
    fn key_bound_presentation_verifies() {
        let presentation = kb_present(&["/chemistry"], now());
        let kb = presentation.key_binding_jwt().unwrap();
        let (header, claims) = jws::decode_unverified(kb).unwrap();
        assert_eq!(header.typ.as_deref(), Some(KB_JWT_TYP));
        assert_eq!(
            claims["sd_hash"],
            sha256_base64url(&presentation.without_key_binding())
        );
        let text = presentation.to_string();
        assert!(text.ends_with(kb));
        let verified = verify_bound(&text, now() + Duration::minutes(1)).unwrap();
        assert_eq!(verified.claims["chemistry"], "NMC811");
        let binding = verified.key_binding.unwrap();
        assert_eq!(binding.issued_at, now());
        assert_eq!(binding.holder_key, holder().public_jwk());
        assert_eq!(
            verified.header.kid.as_deref(),
            Some("did:web:cells.example#key-1")
        );
        // Not required: accepted without looking at it.
        let lenient = verify_sd_jwt(
            &text,
            &issuer().public_jwk(),
            &SdJwtExpectations::default(),
            now(),
        )
        .unwrap();
        assert_eq!(lenient.key_binding, None);
    }

    #[test]
    fn key_binding_refusals() {
        let presentation = kb_present(&["/chemistry"], now());
        let text = presentation.to_string();
        let without = presentation.without_key_binding();

        // Required but absent.
        assert_eq!(
            verify_bound(&without, now()).unwrap_err(),
            TrustError::KeyBindingMissing
        );
        // Too old, or from the future.
        let late = now() + Duration::minutes(5) + CLOCK_SKEW + Duration::seconds(1);
        assert!(matches!(
            verify_bound(&text, late),
            Err(TrustError::Expired { .. })
        ));
        let early = now() - CLOCK_SKEW - Duration::seconds(1);
        assert!(matches!(
            verify_bound(&text, early),
            Err(TrustError::IssuedInFuture { .. })
        ));
        // For another verifier, or another nonce.
        for (audience, nonce, expected) in [
            ("did:web:other.example", "nonce-1", "audience"),
            ("did:web:pack.example", "nonce-2", "nonce"),
        ] {
            let expectations = SdJwtExpectations {
                key_binding: Some(KeyBindingExpectations {
                    audience,
                    nonce,
                    max_age: Duration::minutes(5),
                }),
                ..kb_expectations()
            };
            let error = verify_sd_jwt(&text, &issuer().public_jwk(), &expectations, now())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
        // A key binding JWT moved to another selection, or a disclosure removed after signing.
        let other = kb_present(&["/dueDiligence"], now());
        let moved = format!(
            "{}{}",
            other.without_key_binding(),
            presentation.key_binding_jwt().unwrap()
        );
        assert_eq!(
            verify_bound(&moved, now()).unwrap_err(),
            TrustError::SdHashMismatch
        );
        let stripped = format!(
            "{}~{}",
            presentation.issuer_jwt(),
            presentation.key_binding_jwt().unwrap()
        );
        assert_eq!(
            verify_bound(&stripped, now()).unwrap_err(),
            TrustError::SdHashMismatch
        );
        // Signed by a key other than cnf's, or with the wrong typ.
        let claims = json!({
            "iat": now().timestamp(), "aud": TARGET.audience, "nonce": TARGET.nonce,
            "sd_hash": sha256_base64url(&without),
        });
        let forged = format!(
            "{without}{}",
            key_binding_jwt(KB_JWT_TYP, claims.clone(), &issuer())
        );
        assert!(matches!(
            verify_bound(&forged, now()),
            Err(TrustError::BadSignature { .. })
        ));
        let wrong_typ = format!(
            "{without}{}",
            key_binding_jwt("JWT", claims.clone(), &holder())
        );
        assert!(matches!(
            verify_bound(&wrong_typ, now()),
            Err(TrustError::WrongTokenType {
                expected: KB_JWT_TYP,
                ..
            })
        ));
        // Each required claim.
        for claim in ["iat", "aud", "sd_hash"] {
            let mut partial = claims.clone();
            partial.as_object_mut().unwrap().remove(claim);
            let text = format!(
                "{without}{}",
                key_binding_jwt(KB_JWT_TYP, partial, &holder())
            );
            assert_eq!(
                verify_bound(&text, now()).unwrap_err(),
                TrustError::MissingClaim(match claim {
                    "iat" => "iat",
                    "aud" => "aud",
                    _ => "sd_hash",
                })
            );
        }
        // aud as an array, even one naming the verifier; nonce as a number.
        let mut listed = claims.clone();
        listed["aud"] = json!([TARGET.audience]);
        let text = format!(
            "{without}{}",
            key_binding_jwt(KB_JWT_TYP, listed, &holder())
        );
        assert!(matches!(
            verify_bound(&text, now()),
            Err(TrustError::InvalidClaim { claim: "aud", .. })
        ));
        let mut numeric = claims.clone();
        numeric["nonce"] = json!(1);
        let text = format!(
            "{without}{}",
            key_binding_jwt(KB_JWT_TYP, numeric, &holder())
        );
        assert!(matches!(
            verify_bound(&text, now()),
            Err(TrustError::NonceMismatch { found: None, .. })
        ));
        // An SD-JWT without cnf cannot be key bound.
        let unbound = present(
            &issue_passport(&IssuanceOptions::default()),
            &["/chemistry"],
        );
        let unbound_without = unbound.without_key_binding();
        let claims = json!({
            "iat": now().timestamp(), "aud": TARGET.audience, "nonce": TARGET.nonce,
            "sd_hash": sha256_base64url(&unbound_without),
        });
        let text = format!(
            "{unbound_without}{}",
            key_binding_jwt(KB_JWT_TYP, claims, &holder())
        );
        assert_eq!(
            verify_bound(&text, now()).unwrap_err(),
            TrustError::MissingClaim("cnf")
        );
    }

    // -------------------------------------------------------------------- verifier refusals

    #[test]
    fn a_disclosure_nobody_references_is_refused() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        let stranger = property("chemistry", json!("LFP"));
        let text = format!("{sd_jwt}{}~", stranger.encoded());
        assert_eq!(
            verify_sd_jwt(
                &text,
                &issuer().public_jwk(),
                &SdJwtExpectations::default(),
                now()
            )
            .unwrap_err(),
            TrustError::UnreferencedDisclosure {
                digest: stranger.digest().to_owned()
            }
        );
    }

    #[test]
    fn duplicate_digests_are_refused() {
        let name = property("name", json!("x"));
        let fr = element(json!("FR"));
        let cases = [
            // Twice in one _sd.
            forge(json!({"_sd": [name.digest(), name.digest()]}), &[&name]),
            // In _sd and in an array, undisclosed.
            forge(json!({"_sd": ["AAAA"], "a": [{"...": "AAAA"}]}), &[]),
            // Twice in one array.
            forge(
                json!({"a": [{"...": fr.digest()}, {"...": fr.digest()}]}),
                &[&fr],
            ),
            // One disclosure presented twice.
            forge(json!({"_sd": [name.digest()]}), &[&name, &name]),
        ];
        for text in cases {
            assert!(
                matches!(
                    verify_forged(&text),
                    Err(TrustError::DuplicateDigest { .. })
                ),
                "{:?}",
                verify_forged(&text)
            );
        }
    }

    #[test]
    fn a_disclosed_name_that_already_exists_is_refused() {
        let name = property("name", json!("disclosed-value"));
        let again = Disclosure::new("another-salt".to_owned(), Some("name"), json!("other"));
        for text in [
            forge(json!({"name": "visible", "_sd": [name.digest()]}), &[&name]),
            forge(
                json!({"_sd": [name.digest(), again.digest()]}),
                &[&name, &again],
            ),
        ] {
            let error = verify_forged(&text).unwrap_err();
            assert!(
                matches!(&error, TrustError::DisclosedClaimCollision { name, path, .. }
                    if name == "name" && path == "the top level"),
                "{error:?}"
            );
            // The message names the claim, never its value.
            assert!(!error.to_string().contains("disclosed-value"));
        }
    }

    #[test]
    fn reserved_claim_names_in_disclosures_are_refused() {
        for name in ["_sd", "..."] {
            let encoded = encode(&format!(r#"["salt", "{name}", "v"]"#));
            let error = Disclosure::parse(&encoded).unwrap_err();
            assert!(
                matches!(&error, TrustError::MalformedDisclosure { reason, .. } if reason.contains("reserved")),
                "{error:?}"
            );
            let text = forge(json!({"_sd": [sha256_base64url(&encoded)]}), &[]);
            let text = format!("{text}{encoded}~");
            assert!(matches!(
                verify_forged(&text),
                Err(TrustError::MalformedDisclosure { .. })
            ));
        }
    }

    #[test]
    fn malformed_disclosures_are_refused() {
        let cases = [
            ("!!".to_owned(), "not base64url"),
            (format!("{}=", encode(r#"["s","FR"]"#)), "not base64url"),
            (encode("not json"), "not JSON"),
            (encode(r#"{"salt": "s"}"#), "not a JSON array"),
            (encode(r#"["s"]"#), "has 1 elements"),
            (encode(r#"["s", "a", "b", "c"]"#), "has 4 elements"),
            (encode(r#"[1, "name", "v"]"#), "salt is not a string"),
            (encode(r#"[1, "v"]"#), "salt is not a string"),
            (encode(r#"["s", 7, "v"]"#), "claim name is not a string"),
        ];
        for (encoded, expected) in cases {
            let error = Disclosure::parse(&encoded).unwrap_err();
            let TrustError::MalformedDisclosure { digest, reason } = &error else {
                panic!("{error:?}");
            };
            assert_eq!(digest, &sha256_base64url(&encoded));
            assert!(
                reason.contains(expected),
                "{reason} should contain {expected}"
            );
            // And inside a presentation.
            let text = format!("{}{encoded}~", forge(json!({}), &[]));
            assert!(matches!(
                verify_forged(&text),
                Err(TrustError::MalformedDisclosure { .. })
            ));
        }
    }

    #[test]
    fn disclosures_in_the_wrong_place_are_refused() {
        let fr = element(json!("FR"));
        let name = property("name", json!("x"));
        let element_from_sd = forge(json!({"_sd": [fr.digest()]}), &[&fr]);
        let error = verify_forged(&element_from_sd).unwrap_err();
        assert!(
            matches!(
                &error,
                TrustError::DisclosureShapeMismatch {
                    found: "an array element disclosure",
                    ..
                }
            ),
            "{error:?}"
        );
        let property_from_array = forge(json!({"a": [{"...": name.digest()}]}), &[&name]);
        let error = verify_forged(&property_from_array).unwrap_err();
        assert!(
            matches!(
                &error,
                TrustError::DisclosureShapeMismatch {
                    found: "an object property disclosure",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("array at /a"), "{error}");
        // Placeholders that are not exactly {"...": "<digest>"}.
        for placeholder in [json!({"...": fr.digest(), "extra": 1}), json!({"...": 5})] {
            let text = forge(json!({"a": [placeholder]}), &[]);
            let error = verify_forged(&text).unwrap_err();
            assert!(
                matches!(&error, TrustError::MalformedSdJwt(reason) if reason.contains("{\"...\"")),
                "{error:?}"
            );
        }
    }

    #[test]
    fn malformed_payload_structures_are_refused() {
        let cases = [
            (
                json!({"_sd": "AAAA"}),
                "_sd in the top level is not an array",
            ),
            (
                json!({"a": {"_sd": [1]}}),
                "_sd in /a holds something other",
            ),
            (json!({"a": {"_sd_alg": "sha-256"}}), "_sd_alg in /a"),
        ];
        for (payload, expected) in cases {
            let error = verify_forged(&forge(payload, &[])).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
        for alg in [json!("sha-512"), json!(256)] {
            assert!(matches!(
                verify_forged(&forge(json!({"_sd_alg": alg}), &[])),
                Err(TrustError::UnsupportedSdAlg(_))
            ));
        }
        // Absent _sd_alg means sha-256.
        let name = property("name", json!("x"));
        let claims = verify_forged(&forge(json!({"_sd": [name.digest()]}), &[&name]))
            .unwrap()
            .claims;
        assert_eq!(Value::Object(claims), json!({"name": "x"}));
    }

    #[test]
    fn disclosures_nested_too_deep_are_refused() {
        let mut innermost = property("n", json!({"leaf": true}));
        let mut chain = vec![innermost.clone()];
        for _ in 0..MAX_NESTING {
            innermost = Disclosure::new(
                format!("salt-{}", chain.len()),
                Some("n"),
                json!({"_sd": [innermost.digest()]}),
            );
            chain.push(innermost.clone());
        }
        let references: Vec<&Disclosure> = chain.iter().collect();
        let text = forge(json!({"_sd": [innermost.digest()]}), &references);
        let error = verify_forged(&text).unwrap_err().to_string();
        assert!(error.contains("nested more than"), "{error}");
    }

    #[test]
    fn serialisation_defects_are_refused() {
        let jwt = forge(json!({}), &[]);
        let jwt = jwt.trim_end_matches('~');
        let fr = element(json!("FR"));
        let cases = [
            (jwt.to_owned(), "no ~ separator"),
            (format!("{jwt}~~{}~", fr.encoded()), "empty disclosure"),
            (format!("not-a-jwt~{}~", fr.encoded()), "issuer-signed JWT"),
            (format!("{jwt}~kb-without-dots"), "key binding JWT"),
        ];
        for (text, expected) in cases {
            let error = SdJwt::parse(&text).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
    }

    #[test]
    fn signature_type_and_validity_are_checked() {
        let sd_jwt = issue_passport(&IssuanceOptions::default());
        // Another issuer's key.
        let other = KeyPair::from_secret_bytes(&[33; 32]).public_jwk();
        assert!(matches!(
            verify_sd_jwt(
                &sd_jwt.to_string(),
                &other,
                &SdJwtExpectations::default(),
                now()
            ),
            Err(TrustError::BadSignature { .. })
        ));
        // Another typ than expected.
        let plain = issue_sd_jwt(
            &passport(),
            &["/chemistry"],
            &issuer(),
            &IssuanceOptions {
                typ: EXAMPLE_SD_JWT_TYP,
                ..IssuanceOptions::default()
            },
            &mut rng(),
        )
        .unwrap();
        assert!(matches!(
            verify(&plain),
            Err(TrustError::WrongTokenType {
                expected: SD_JWT_VC_TYP,
                ..
            })
        ));
        // exp and nbf, even when concealed.
        let dated = |claims: Value, paths: &[&str]| {
            issue_sd_jwt(
                &claims,
                paths,
                &issuer(),
                &IssuanceOptions::default(),
                &mut rng(),
            )
            .unwrap()
        };
        let expired = dated(json!({"vct": VCT, "exp": now().timestamp() - 120}), &[]);
        assert!(matches!(verify(&expired), Err(TrustError::Expired { .. })));
        let early = dated(json!({"vct": VCT, "nbf": now().timestamp() + 120}), &[]);
        assert!(matches!(
            verify(&early),
            Err(TrustError::NotYetValid { .. })
        ));
        let plain_expired = issue_sd_jwt(
            &json!({"exp": now().timestamp() - 120}),
            &["/exp"],
            &issuer(),
            &IssuanceOptions {
                typ: EXAMPLE_SD_JWT_TYP,
                ..IssuanceOptions::default()
            },
            &mut rng(),
        )
        .unwrap();
        assert!(matches!(
            verify_forged(&plain_expired.to_string()),
            Err(TrustError::Expired { .. })
        ));
        // An SD-JWT VC without vct.
        let header = JwsHeader::new(SD_JWT_VC_TYP, "k");
        let no_vct = format!("{}~", jws::sign(header, &json!({"a": 1}), &issuer()));
        assert_eq!(
            verify_sd_jwt(
                &no_vct,
                &issuer().public_jwk(),
                &SdJwtExpectations::default(),
                now()
            )
            .unwrap_err(),
            TrustError::MissingClaim("vct")
        );
    }

    // -------------------------------------------------------------------- DID resolution

    #[test]
    fn the_issuer_key_comes_from_its_did_document_when_trusted_for_the_vct() {
        use crate::did::{Did, DidDocument, StaticResolver, key_id_url};
        use crate::keys::KeyRing;
        let did = "did:web:cells.example";
        let ring = KeyRing::with_active_key(issuer(), now());
        let resolver = StaticResolver::new();
        resolver.insert(DidDocument::for_key_ring(
            &Did::parse(did).unwrap(),
            &ring,
            now(),
            Vec::new(),
        ));
        let kid = key_id_url(did, &issuer());
        let sd_jwt = issue_passport(&IssuanceOptions {
            kid: Some(&kid),
            ..IssuanceOptions::default()
        });
        let text = present(&sd_jwt, &["/chemistry"]).to_string();
        let trusted = TrustedIssuers::new().with(VCT, did);
        let expectations = SdJwtExpectations::default();
        let future = verify_sd_jwt_with_resolver(&text, &resolver, &trusted, &expectations, now());
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&future);
        let verified = futures::executor::block_on(future).unwrap();
        assert_eq!(verified.claims["chemistry"], "NMC811");

        // Trusted for another type only: refused before resolving.
        let elsewhere = TrustedIssuers::new().with("OtherCredential", did);
        assert!(matches!(
            futures::executor::block_on(verify_sd_jwt_with_resolver(
                &text,
                &resolver,
                &elsewhere,
                &expectations,
                now()
            )),
            Err(TrustError::UntrustedIssuer { .. })
        ));
        // A kid of a key the document does not have.
        let stray = issue_passport(&IssuanceOptions {
            kid: Some("did:web:cells.example#key-0000000000000000"),
            ..IssuanceOptions::default()
        });
        assert!(matches!(
            futures::executor::block_on(verify_sd_jwt_with_resolver(
                &stray.to_string(),
                &resolver,
                &trusted,
                &expectations,
                now()
            )),
            Err(TrustError::NoMatchingKey { .. })
        ));
    }
}
