//! A participant's signing keys: one active Ed25519 key and the keys it replaced, which stay
//! verifiable for a grace period so that tokens signed just before a rotation still verify.
//!
//! Private keys never appear in `Debug` output, error messages or the DID document. The
//! storage form [`KeyRingFile`] does hold them (base64url); the caller writes it to a file
//! only its own user can read (mode 0600).
//!
//! A retired key disappears from the DID document ([`crate::did::DidDocument::for_key_ring`]
//! lists [`KeyRing::verification_keys`]), and with it every signature it made: an issuer
//! rotates with a grace period that covers the lifetime of the credentials it signed, or
//! re-issues them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::TrustError;
use crate::jwk::Jwk;

/// The version of [`KeyRingFile`] this crate writes and reads.
const KEY_RING_FILE_VERSION: u32 = 1;

/// The stable key id of an Ed25519 public key: `key-` and the first 8 bytes of the SHA-256 of
/// the raw public key, in lower-case hex (e.g. `key-3f1a09c2d4b5e6f7`).
///
/// Derived rather than chosen, so that a key id can never be reused for a different key.
pub fn kid_for(public: &ed25519_dalek::VerifyingKey) -> String {
    let digest = Sha256::digest(public.as_bytes());
    let mut kid = String::with_capacity(4 + 16);
    kid.push_str("key-");
    for byte in &digest[..8] {
        kid.push_str(&format!("{byte:02x}"));
    }
    kid
}

/// An Ed25519 signing key and its key id.
#[derive(Clone)]
pub struct KeyPair {
    kid: String,
    signing: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("private_key", &"(redacted)")
            .finish()
    }
}

impl KeyPair {
    /// A fresh key from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> KeyPair {
        KeyPair::from_signing_key(ed25519_dalek::SigningKey::generate(rng))
    }

    /// The key with the given 32-byte Ed25519 secret (RFC 8032 "private key").
    pub fn from_secret_bytes(secret: &[u8; 32]) -> KeyPair {
        KeyPair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    fn from_signing_key(signing: ed25519_dalek::SigningKey) -> KeyPair {
        KeyPair {
            kid: kid_for(&signing.verifying_key()),
            signing,
        }
    }

    /// The key id (a fragment, without the DID: `key-...`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as a JWK with `kid` set.
    pub fn public_jwk(&self) -> Jwk {
        Jwk::from_ed25519(&self.verifying_key()).with_kid(self.kid.clone())
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        use ed25519_dalek::Signer as _;
        self.signing.sign(message)
    }

    /// The secret bytes, for the storage form only.
    fn secret_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.signing.to_bytes()))
    }
}

/// A key that is no longer used to sign but still verifies until `retire_after`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiringKey {
    /// The key id (fragment).
    pub kid: String,
    /// The public key, `kid` included.
    pub public_jwk: Jwk,
    /// The first instant at which the key no longer verifies.
    pub retire_after: DateTime<Utc>,
}

/// The active signing key and the retiring keys that still verify.
#[derive(Clone, Debug)]
pub struct KeyRing {
    active: KeyPair,
    active_since: DateTime<Utc>,
    retiring: Vec<RetiringKey>,
}

impl KeyRing {
    /// A ring with one fresh key, active from `now`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R, now: DateTime<Utc>) -> KeyRing {
        KeyRing::with_active_key(KeyPair::generate(rng), now)
    }

    /// A ring around an existing key.
    pub fn with_active_key(active: KeyPair, now: DateTime<Utc>) -> KeyRing {
        KeyRing {
            active,
            active_since: now,
            retiring: Vec::new(),
        }
    }

    /// The key that signs.
    pub fn active(&self) -> &KeyPair {
        &self.active
    }

    /// When the active key took over.
    pub fn active_since(&self) -> DateTime<Utc> {
        self.active_since
    }

    /// Keys replaced by rotation and not yet pruned (some may be past `retire_after`).
    pub fn retiring(&self) -> &[RetiringKey] {
        &self.retiring
    }

    /// Replaces the active key with a fresh one. The old key keeps verifying until
    /// `now + grace` (a negative grace counts as zero). Returns the new active key.
    pub fn rotate<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> &KeyPair {
        let new_key = KeyPair::generate(rng);
        let old_key = std::mem::replace(&mut self.active, new_key);
        self.retiring.push(RetiringKey {
            kid: old_key.kid.clone(),
            public_jwk: old_key.public_jwk(),
            retire_after: now + grace.max(Duration::zero()),
        });
        self.active_since = now;
        &self.active
    }

    /// The public keys that verify at `now`: the active key first, then every retiring key
    /// whose `retire_after` is still ahead.
    pub fn verification_keys(&self, now: DateTime<Utc>) -> Vec<Jwk> {
        let mut keys = vec![self.active.public_jwk()];
        keys.extend(
            self.retiring
                .iter()
                .filter(|key| now < key.retire_after)
                .map(|key| key.public_jwk.clone()),
        );
        keys
    }

    /// Forgets retiring keys whose `retire_after` has passed.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        self.retiring.retain(|key| now < key.retire_after);
    }

    /// The storage form, private key included.
    pub fn to_file(&self) -> KeyRingFile {
        KeyRingFile {
            version: KEY_RING_FILE_VERSION,
            active: StoredKey {
                kid: self.active.kid.clone(),
                private_key: self.active.secret_base64url(),
                active_since: self.active_since,
            },
            retiring: self.retiring.clone(),
        }
    }

    /// Loads the storage form, checking that every `kid` matches its key.
    pub fn from_file(file: KeyRingFile) -> Result<KeyRing, TrustError> {
        if file.version != KEY_RING_FILE_VERSION {
            return Err(TrustError::InvalidKeyRing(format!(
                "version {} is not supported (expected {KEY_RING_FILE_VERSION})",
                file.version
            )));
        }
        let secret = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(file.active.private_key.as_bytes())
                .map_err(|_| {
                    TrustError::InvalidKeyRing("active.privateKey is not base64url".to_owned())
                })?,
        );
        let secret: Zeroizing<[u8; 32]> =
            Zeroizing::new(secret.as_slice().try_into().map_err(|_| {
                TrustError::InvalidKeyRing("active.privateKey must be 32 bytes".to_owned())
            })?);
        let active = KeyPair::from_secret_bytes(&secret);
        if active.kid != file.active.kid {
            return Err(TrustError::InvalidKeyRing(format!(
                "active kid {} does not match its key (expected {})",
                file.active.kid, active.kid
            )));
        }
        for key in &file.retiring {
            let public = match key.public_jwk.verifying_key() {
                Ok(crate::jwk::PublicKey::Ed25519(public)) => public,
                Ok(_) => {
                    return Err(TrustError::InvalidKeyRing(format!(
                        "retiring key {} is not an Ed25519 key",
                        key.kid
                    )));
                }
                Err(error) => {
                    return Err(TrustError::InvalidKeyRing(format!(
                        "retiring key {}: {error}",
                        key.kid
                    )));
                }
            };
            if kid_for(&public) != key.kid {
                return Err(TrustError::InvalidKeyRing(format!(
                    "retiring kid {} does not match its key",
                    key.kid
                )));
            }
        }
        Ok(KeyRing {
            active,
            active_since: file.active.active_since,
            retiring: file.retiring,
        })
    }
}

/// The storage form of a [`KeyRing`]: JSON with the active private key in base64url.
///
/// The caller serialises it with `serde_json` and writes it to a file with mode 0600. Its
/// `Debug` output hides the private key, and the key's text is wiped from memory on drop.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRingFile {
    /// Format version (1).
    pub version: u32,
    /// The signing key.
    pub active: StoredKey,
    /// Keys that still verify.
    #[serde(default)]
    pub retiring: Vec<RetiringKey>,
}

/// The active key inside a [`KeyRingFile`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredKey {
    /// The key id; must match the key.
    pub kid: String,
    /// The 32-byte Ed25519 secret, base64url without padding.
    pub private_key: Zeroizing<String>,
    /// When the key took over.
    pub active_since: DateTime<Utc>,
}

impl std::fmt::Debug for KeyRingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRingFile")
            .field("version", &self.version)
            .field("active", &self.active)
            .field("retiring", &self.retiring)
            .finish()
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("private_key", &"(redacted)")
            .field("active_since", &self.active_since)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn kid_is_stable_and_derived_from_the_public_key() {
        let key = KeyPair::from_secret_bytes(&[1; 32]);
        assert_eq!(key.kid(), KeyPair::from_secret_bytes(&[1; 32]).kid());
        assert_ne!(key.kid(), KeyPair::from_secret_bytes(&[2; 32]).kid());
        assert!(key.kid().starts_with("key-"));
        assert_eq!(key.kid().len(), 4 + 16);
        assert_eq!(key.public_jwk().kid.as_deref(), Some(key.kid()));
    }

    #[test]
    fn debug_never_prints_the_private_key() {
        let key = KeyPair::from_secret_bytes(&[0xAB; 32]);
        let secret = URL_SAFE_NO_PAD.encode([0xAB; 32]);
        let ring = KeyRing::with_active_key(key.clone(), at(0));
        for text in [
            format!("{key:?}"),
            format!("{ring:?}"),
            format!("{:?}", ring.to_file()),
        ] {
            assert!(!text.contains(&secret), "{text}");
            assert!(!text.to_lowercase().contains("abab"), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
    }

    #[test]
    fn rotation_keeps_the_old_key_verifiable_until_retire_after() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut ring = KeyRing::generate(&mut rng, at(0));
        let old = ring.active().public_jwk();
        let new = ring
            .rotate(&mut rng, at(100), Duration::seconds(60))
            .public_jwk();
        assert_ne!(old, new);
        assert_eq!(ring.active_since(), at(100));
        assert_eq!(ring.verification_keys(at(159)), vec![new.clone(), old]);
        assert_eq!(ring.verification_keys(at(160)), vec![new.clone()]);
        ring.prune(at(159));
        assert_eq!(ring.retiring().len(), 1);
        ring.prune(at(160));
        assert!(ring.retiring().is_empty());
    }

    #[test]
    fn file_form_round_trips() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut ring = KeyRing::generate(&mut rng, at(0));
        ring.rotate(&mut rng, at(10), Duration::days(1));
        let json = serde_json::to_string(&ring.to_file()).unwrap();
        let file: KeyRingFile = serde_json::from_str(&json).unwrap();
        let back = KeyRing::from_file(file).unwrap();
        assert_eq!(back.active().kid(), ring.active().kid());
        assert_eq!(back.active().verifying_key(), ring.active().verifying_key());
        assert_eq!(back.retiring(), ring.retiring());
        assert_eq!(back.active_since(), at(10));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(value["active"]["privateKey"].is_string());
        assert!(value["retiring"][0]["retireAfter"].is_string());
    }

    #[test]
    fn file_with_mismatched_kid_or_bad_key_is_refused() {
        let ring = KeyRing::with_active_key(KeyPair::from_secret_bytes(&[3; 32]), at(0));
        let mut file = ring.to_file();
        file.active.kid = "key-0000000000000000".to_owned();
        let error = KeyRing::from_file(file).unwrap_err().to_string();
        assert!(error.contains("does not match its key"), "{error}");

        let mut file = ring.to_file();
        file.active.private_key = Zeroizing::new("AAAA".to_owned());
        let error = KeyRing::from_file(file).unwrap_err().to_string();
        assert!(error.contains("must be 32 bytes"), "{error}");

        let mut file = ring.to_file();
        file.version = 2;
        assert!(KeyRing::from_file(file).is_err());
    }
}
