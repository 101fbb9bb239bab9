//! Public keys as JSON Web Keys (RFC 7517, RFC 8037 for Ed25519, RFC 7518 for P-256).
//!
//! Only public keys travel as JWKs. A JWK that arrives with a private member (`d`) has it
//! dropped on parsing: this type has no field for it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::TrustError;

/// A public JWK: `{"kty":"OKP","crv":"Ed25519","x":...}` or
/// `{"kty":"EC","crv":"P-256","x":...,"y":...}`, with optional `kid`, `alg` and `use`.
///
/// Parsing is lenient (unknown members are ignored); [`Jwk::verifying_key`] is strict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP` or `EC`.
    pub kty: String,
    /// Curve: `Ed25519` or `P-256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public key (Ed25519) or x coordinate (P-256), base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// y coordinate (P-256 only), base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one algorithm this key may be used with, when the publisher pins it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use (`sig`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

/// A public key this crate can verify signatures with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// Verifies `EdDSA` signatures.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// Verifies `ES256` signatures.
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// `Ed25519` or `P-256`, for messages.
    pub fn key_type(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::P256(_) => "P-256",
        }
    }

    /// The JWS `alg` this key verifies: `EdDSA` or `ES256`.
    pub fn jws_algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "EdDSA",
            PublicKey::P256(_) => "ES256",
        }
    }

    /// The key as a JWK without `kid`.
    pub fn to_jwk(&self) -> Jwk {
        match self {
            PublicKey::Ed25519(key) => Jwk::from_ed25519(key),
            PublicKey::P256(key) => Jwk::from_p256(key),
        }
    }
}

impl Jwk {
    /// The JWK of an Ed25519 public key (no `kid`).
    pub fn from_ed25519(key: &ed25519_dalek::VerifyingKey) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: Some("Ed25519".to_owned()),
            x: Some(URL_SAFE_NO_PAD.encode(key.as_bytes())),
            y: None,
            kid: None,
            alg: None,
            key_use: None,
        }
    }

    /// The JWK of a P-256 public key (no `kid`).
    pub fn from_p256(key: &p256::ecdsa::VerifyingKey) -> Jwk {
        let point = key.to_encoded_point(false);
        // An uncompressed point of a valid key always has both coordinates.
        let coordinate = |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c));
        Jwk {
            kty: "EC".to_owned(),
            crv: Some("P-256".to_owned()),
            x: coordinate(point.x()),
            y: coordinate(point.y()),
            kid: None,
            alg: None,
            key_use: None,
        }
    }

    /// The same JWK with `kid` set.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Jwk {
        self.kid = Some(kid.into());
        self
    }

    /// The public key, after checking that the JWK is a well-formed Ed25519 or P-256 key (right
    /// lengths, a point on the curve).
    pub fn verifying_key(&self) -> Result<PublicKey, TrustError> {
        let crv = self.crv.as_deref().unwrap_or("(none)");
        match (self.kty.as_str(), crv) {
            ("OKP", "Ed25519") => {
                let x = self.coordinate("x", 32)?;
                let bytes: [u8; 32] = x
                    .try_into()
                    .map_err(|_| TrustError::InvalidJwk("x must be 32 bytes".to_owned()))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| {
                    TrustError::InvalidJwk("x is not a valid Ed25519 public key".to_owned())
                })?;
                Ok(PublicKey::Ed25519(key))
            }
            ("EC", "P-256") => {
                let x = self.coordinate("x", 32)?;
                let y = self.coordinate("y", 32)?;
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(0x04);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| {
                    TrustError::InvalidJwk("x and y are not a point on P-256".to_owned())
                })?;
                Ok(PublicKey::P256(key))
            }
            (kty, crv) => Err(TrustError::InvalidJwk(format!(
                "unsupported key type kty={kty:?} crv={crv:?} (supported: OKP/Ed25519, EC/P-256)"
            ))),
        }
    }

    /// The `kid`, or `(no kid)`, for messages.
    pub(crate) fn kid_for_messages(&self) -> String {
        self.kid.clone().unwrap_or_else(|| "(no kid)".to_owned())
    }

    fn coordinate(&self, name: &'static str, len: usize) -> Result<Vec<u8>, TrustError> {
        let value = match name {
            "x" => self.x.as_deref(),
            _ => self.y.as_deref(),
        }
        .ok_or_else(|| TrustError::InvalidJwk(format!("{name} is missing")))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| TrustError::InvalidJwk(format!("{name} is not base64url")))?;
        if bytes.len() != len {
            return Err(TrustError::InvalidJwk(format!(
                "{name} must be {len} bytes, found {}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ed25519_round_trip_through_json() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let jwk = Jwk::from_ed25519(&signing.verifying_key()).with_kid("key-1");
        let text = serde_json::to_value(&jwk).unwrap();
        assert_eq!(text["kty"], "OKP");
        assert_eq!(text["crv"], "Ed25519");
        assert_eq!(text["kid"], "key-1");
        assert!(text.get("y").is_none());
        let back: Jwk = serde_json::from_value(text).unwrap();
        assert_eq!(
            back.verifying_key().unwrap(),
            PublicKey::Ed25519(signing.verifying_key())
        );
    }

    #[test]
    fn p256_round_trip_through_json() {
        let signing = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
        let public = *signing.verifying_key();
        let jwk = Jwk::from_p256(&public);
        let back: Jwk = serde_json::from_value(serde_json::to_value(&jwk).unwrap()).unwrap();
        assert_eq!(back.verifying_key().unwrap(), PublicKey::P256(public));
        assert_eq!(back.verifying_key().unwrap().to_jwk(), jwk);
    }

    #[test]
    fn rfc8037_example_key_parses() {
        // RFC 8037, appendix A.2: the public part of the example Ed25519 key.
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        }))
        .unwrap();
        assert!(matches!(jwk.verifying_key(), Ok(PublicKey::Ed25519(_))));
    }

    #[test]
    fn private_member_is_dropped() {
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
        }))
        .unwrap();
        let out = serde_json::to_value(&jwk).unwrap();
        assert!(out.get("d").is_none());
    }

    #[test]
    fn malformed_keys_are_refused_with_a_reason() {
        let cases = [
            (
                json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
                "unsupported key type",
            ),
            (
                json!({"kty": "OKP", "crv": "X25519", "x": "AA"}),
                "unsupported key type",
            ),
            (json!({"kty": "OKP", "crv": "Ed25519"}), "x is missing"),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
                "x must be 32 bytes",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "x": "!!"}),
                "x is not base64url",
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([1u8; 32])}),
                "not a point on P-256",
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1u8; 32])}),
                "y is missing",
            ),
        ];
        for (jwk, expected) in cases {
            let jwk: Jwk = serde_json::from_value(jwk).unwrap();
            let error = jwk.verifying_key().unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
    }
}
