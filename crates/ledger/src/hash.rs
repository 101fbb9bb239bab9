//! SHA-256 hashes and the RFC 9162 §2.1.1 domain-separated leaf and node hashes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::LedgerError;

/// A SHA-256 digest: a leaf hash, a node hash, a tree root or the digest of some bytes.
///
/// It is always exactly 32 bytes: a "root" of another length (which byte-slice implementations
/// compare without complaint) cannot even be constructed. Displayed and serialized as lower-case
/// hex, the form `sha256sum` prints, so that an auditor can compare a logged digest with a file
/// by eye; checkpoints carry roots in base64 as their format demands ([`Hash::to_base64`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash([u8; 32]);

impl Hash {
    /// The number of bytes in a hash.
    pub const LEN: usize = 32;

    /// The hash with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }

    /// The hash in `bytes`, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, LedgerError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| LedgerError::InvalidHashLength { len: bytes.len() })?;
        Ok(Hash(array))
    }

    /// SHA-256 of `data`, with no domain separation (for digests of delivered bytes or policies).
    pub fn sha256(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Standard base64 with padding (RFC 4648 §4), as in checkpoints.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, LedgerError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| LedgerError::InvalidBase64 { what: "hash" })?;
        Hash::from_slice(&bytes)
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Hash, LedgerError> {
        let bytes = crate::hex::decode(text).ok_or(LedgerError::InvalidHex { what: "hash" })?;
        Hash::from_slice(&bytes)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        // Only lower case is accepted on the way in, so that one digest has one JSON form
        // and a decoded entry re-encodes to the same bytes.
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(serde::de::Error::custom(
                "a hash is written in lower-case hex",
            ));
        }
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Hash::sha256(b"")
}

/// The hash of a log entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 0x01;
    block[1..33].copy_from_slice(&left.0);
    block[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(block).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // The empty leaf's hash, as in RFC 6962 reference data.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concatenated = vec![0x01];
        concatenated.extend_from_slice(a.as_bytes());
        concatenated.extend_from_slice(b.as_bytes());
        assert_eq!(node_hash(&a, &b), Hash::sha256(&concatenated));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn encodings_round_trip_and_refuse_wrong_lengths() {
        let hash = leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&hash.to_base64()).unwrap(), hash);
        assert_eq!(Hash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert_eq!(
            Hash::from_base64("ZG9uJ3QgY2FyZSAy").unwrap_err(),
            LedgerError::InvalidHashLength { len: 12 }
        );
        assert_eq!(
            Hash::from_hex("abc").unwrap_err(),
            LedgerError::InvalidHex { what: "hash" }
        );
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{}\"", hash.to_hex()));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), hash);
        assert!(serde_json::from_str::<Hash>(&json.to_uppercase()).is_err());
    }
}
