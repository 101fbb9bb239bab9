//! Compact JWS (RFC 7515) with exactly two algorithms: `EdDSA` over Ed25519 (RFC 8037), which
//! tsunagu signs with, and `ES256` over P-256, which it also accepts from others.
//!
//! The verifier decides the key *before* it looks at the token's algorithm, and the algorithm
//! must then fit that key: `EdDSA` only with an Ed25519 key, `ES256` only with a P-256 key.
//! `none`, every `HS*` (which would let a public key serve as an HMAC secret), `RS*`/`PS*` and
//! anything else are refused outright. Keys embedded in the header (`jwk`, `jku`, `x5c`, `x5u`)
//! are never used, and a header with `crit` extensions is refused because none are understood.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TrustError;
use crate::jwk::{Jwk, PublicKey};
use crate::keys::KeyPair;

/// Tokens larger than this are refused before any decoding (a presentation with a dozen
/// credentials stays far below it).
const MAX_TOKEN_BYTES: usize = 1024 * 1024;

/// The protected header of a compact JWS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwsHeader {
    /// Signature algorithm; [`sign`] always writes `EdDSA`.
    pub alg: String,
    /// Media type of the whole token, e.g. `vc+jwt`, `vp+jwt`, `JWT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Key id; in tsunagu's tokens always a full DID URL (`did:web:example.com#key-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Content type of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    /// Critical extensions; any is refused on verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

impl JwsHeader {
    /// A header with `typ` and `kid` set; `alg` is filled in by [`sign`].
    pub fn new(typ: impl Into<String>, kid: impl Into<String>) -> JwsHeader {
        JwsHeader {
            alg: "EdDSA".to_owned(),
            typ: Some(typ.into()),
            kid: Some(kid.into()),
            cty: None,
            crit: None,
        }
    }
}

/// Signs `payload` with `key` (`alg` is set to `EdDSA`, whatever `header` said) and returns the
/// compact serialisation `header.payload.signature`.
pub fn sign(mut header: JwsHeader, payload: &Value, key: &KeyPair) -> String {
    header.alg = "EdDSA".to_owned();
    // Serialising a header struct and a `Value` cannot fail: both have string keys only.
    let header_json = serde_json::to_vec(&header).unwrap_or_default();
    let payload_json = serde_json::to_vec(payload).unwrap_or_default();
    let mut token = URL_SAFE_NO_PAD.encode(header_json);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload_json));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    token
}

/// Header and payload **without checking the signature**: only for choosing the key to
/// verify with (the `kid`, the issuer). Never act on what this returns.
pub fn decode_unverified(token: &str) -> Result<(JwsHeader, Value), TrustError> {
    let parts = Parts::split(token)?;
    Ok((parts.header()?, parts.payload()?))
}

/// Verifies `token` with `key` and returns its header and payload.
///
/// Refused: anything but three base64url parts, a payload that is not a JSON object, `crit`
/// headers, every algorithm but `EdDSA`/`ES256`, an algorithm that does not match the key type
/// (or the key's own `alg`, when it has one), and of course a signature that does not verify.
pub fn verify(token: &str, key: &Jwk) -> Result<(JwsHeader, Value), TrustError> {
    let parts = Parts::split(token)?;
    let header = parts.header()?;
    if let Some(crit) = &header.crit {
        return Err(TrustError::UnsupportedCriticalHeader(crit.clone()));
    }
    if !matches!(header.alg.as_str(), "EdDSA" | "ES256") {
        return Err(TrustError::UnsupportedAlgorithm {
            alg: header.alg.clone(),
        });
    }
    let public = key.verifying_key()?;
    let mismatch = || TrustError::AlgorithmKeyMismatch {
        alg: header.alg.clone(),
        key_type: public.key_type(),
        kid: key.kid_for_messages(),
    };
    if public.jws_algorithm() != header.alg {
        return Err(mismatch());
    }
    if key
        .alg
        .as_deref()
        .is_some_and(|pinned| pinned != header.alg)
    {
        return Err(mismatch());
    }
    let bad_signature = || TrustError::BadSignature {
        kid: key.kid_for_messages(),
    };
    let signature = parts.signature()?;
    match &public {
        PublicKey::Ed25519(public) => {
            let signature =
                ed25519_dalek::Signature::from_slice(&signature).map_err(|_| bad_signature())?;
            // Strict verification also refuses small-order keys and non-canonical signatures.
            public
                .verify_strict(parts.signing_input.as_bytes(), &signature)
                .map_err(|_| bad_signature())?;
        }
        PublicKey::P256(public) => {
            use p256::ecdsa::signature::Verifier as _;
            // JWS carries the raw 64-byte r || s form (RFC 7518, section 3.4), not DER.
            let signature =
                p256::ecdsa::Signature::from_slice(&signature).map_err(|_| bad_signature())?;
            public
                .verify(parts.signing_input.as_bytes(), &signature)
                .map_err(|_| bad_signature())?;
        }
    }
    Ok((header, parts.payload()?))
}

/// A compact JWS split into its parts.
struct Parts<'a> {
    /// `header.payload`, what the signature covers.
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

impl<'a> Parts<'a> {
    fn split(token: &'a str) -> Result<Parts<'a>, TrustError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TrustError::MalformedJws(format!(
                "token is {} bytes, more than the {MAX_TOKEN_BYTES} accepted",
                token.len()
            )));
        }
        let mut pieces = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (pieces.next(), pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(TrustError::MalformedJws(
                "expected three dot-separated parts".to_owned(),
            ));
        };
        Ok(Parts {
            signing_input: &token[..header.len() + 1 + payload.len()],
            header,
            payload,
            signature,
        })
    }

    fn header(&self) -> Result<JwsHeader, TrustError> {
        let bytes = decode_part(self.header, "header")?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| TrustError::MalformedJws(format!("header is not JSON: {error}")))?;
        if !value.is_object() {
            return Err(TrustError::MalformedJws(
                "header is not a JSON object".to_owned(),
            ));
        }
        serde_json::from_value(value)
            .map_err(|error| TrustError::MalformedJws(format!("header: {error}")))
    }

    fn payload(&self) -> Result<Value, TrustError> {
        let bytes = decode_part(self.payload, "payload")?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| TrustError::MalformedJws(format!("payload is not JSON: {error}")))?;
        if !value.is_object() {
            return Err(TrustError::MalformedJws(
                "payload is not a JSON object".to_owned(),
            ));
        }
        Ok(value)
    }

    fn signature(&self) -> Result<Vec<u8>, TrustError> {
        decode_part(self.signature, "signature")
    }
}

fn decode_part(part: &str, name: &str) -> Result<Vec<u8>, TrustError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TrustError::MalformedJws(format!("{name} is not base64url without padding")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> KeyPair {
        KeyPair::from_secret_bytes(&[5; 32])
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let key = key();
        let payload = json!({"iss": "did:web:a.example", "n": 1});
        let token = sign(JwsHeader::new("JWT", "did:web:a.example#k"), &payload, &key);
        let (header, back) = verify(&token, &key.public_jwk()).unwrap();
        assert_eq!(header.alg, "EdDSA");
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some("did:web:a.example#k"));
        assert_eq!(back, payload);
        assert_eq!(decode_unverified(&token).unwrap(), (header, payload));
    }

    #[test]
    fn sign_forces_eddsa() {
        let mut header = JwsHeader::new("JWT", "k");
        header.alg = "none".to_owned();
        let token = sign(header, &json!({}), &key());
        assert_eq!(decode_unverified(&token).unwrap().0.alg, "EdDSA");
    }

    #[test]
    fn es256_verifies_with_a_p256_key() {
        use p256::ecdsa::signature::Signer as _;
        let signing = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"a":1}"#);
        let input = format!("{header}.{payload}");
        let signature: p256::ecdsa::Signature = signing.sign(input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        let jwk = Jwk::from_p256(signing.verifying_key());
        let (_, payload) = verify(&token, &jwk).unwrap();
        assert_eq!(payload, json!({"a": 1}));
        // The same token against an Ed25519 key: the algorithm does not fit the key.
        let error = verify(&token, &key().public_jwk()).unwrap_err();
        assert!(matches!(error, TrustError::AlgorithmKeyMismatch { .. }));
    }

    #[test]
    fn structural_defects_are_refused() {
        let key = key();
        let token = sign(JwsHeader::new("JWT", "k"), &json!({"a": 1}), &key);
        let (h, p, s) = {
            let mut it = token.split('.');
            (
                it.next().unwrap().to_owned(),
                it.next().unwrap().to_owned(),
                it.next().unwrap().to_owned(),
            )
        };
        let array_payload = URL_SAFE_NO_PAD.encode(b"[1]");
        let cases = [
            (format!("{h}.{p}"), "three dot-separated parts"),
            (format!("{h}.{p}.{s}.x"), "three dot-separated parts"),
            (format!("{h}=.{p}.{s}"), "header is not base64url"),
            (format!("{h}.{p}.{s}=="), "signature is not base64url"),
            (format!("{h}.{array_payload}.{s}"), "does not verify"),
            (
                format!("{}.{p}.{s}", URL_SAFE_NO_PAD.encode(b"[]")),
                "header is not a JSON object",
            ),
        ];
        for (token, expected) in cases {
            let error = verify(&token, &key.public_jwk()).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
        assert!(
            decode_unverified(&format!("{h}.{array_payload}.{s}"))
                .unwrap_err()
                .to_string()
                .contains("payload is not a JSON object")
        );
    }

    #[test]
    fn crit_header_is_refused() {
        let mut header = JwsHeader::new("JWT", "k");
        header.crit = Some(vec!["b64".to_owned()]);
        let key = key();
        let token = sign(header, &json!({}), &key);
        assert!(matches!(
            verify(&token, &key.public_jwk()),
            Err(TrustError::UnsupportedCriticalHeader(_))
        ));
    }

    #[test]
    fn a_key_pinned_to_another_alg_is_not_used() {
        let key = key();
        let token = sign(JwsHeader::new("JWT", "k"), &json!({}), &key);
        let mut jwk = key.public_jwk();
        jwk.alg = Some("ES256".to_owned());
        assert!(matches!(
            verify(&token, &jwk),
            Err(TrustError::AlgorithmKeyMismatch { .. })
        ));
    }
}
