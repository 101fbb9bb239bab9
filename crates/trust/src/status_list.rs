//! W3C Bitstring Status List v1.0: one bit per issued credential, set when the credential is
//! revoked (or suspended), published as a `BitstringStatusListCredential` that is itself a
//! `vc+jwt` signed by the issuer.
//!
//! Bit order follows the specification: index 0 is the left-most (most significant) bit of the
//! first byte. `encodedList` is the multibase `u` prefix followed by the base64url (no padding)
//! GZIP of the bitstring. Fetching a status list credential is IO, so it happens behind
//! [`StatusListSource`]; the verification itself lives in [`crate::vc::verify_vc_jwt`].

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::RwLock;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;

use crate::TrustError;
use crate::vc::Credential;

/// The smallest bitstring the specification allows: 16 KiB, 131,072 entries.
pub const MIN_STATUS_LIST_BITS: usize = 131_072;

/// The largest bitstring [`StatusList::decode`] inflates (16 MiB, 134 million entries), a
/// guard against compression bombs.
const MAX_STATUS_LIST_BYTES: usize = 16 * 1024 * 1024;

/// The type of a status list credential.
pub const STATUS_LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// The type of a status list credential's subject.
pub const STATUS_LIST_SUBJECT_TYPE: &str = "BitstringStatusList";
/// The type of a `credentialStatus` entry pointing into a status list.
pub const STATUS_LIST_ENTRY_TYPE: &str = "BitstringStatusListEntry";

/// What a set bit means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// The credential is revoked for good.
    Revocation,
    /// The credential is suspended (the bit may be cleared again).
    Suspension,
}

impl StatusPurpose {
    /// `revocation` or `suspension`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    /// The purpose named `text`, if this crate knows it.
    pub fn parse(text: &str) -> Option<StatusPurpose> {
        match text {
            "revocation" => Some(StatusPurpose::Revocation),
            "suspension" => Some(StatusPurpose::Suspension),
            _ => None,
        }
    }
}

/// A bitstring of credential statuses, all clear when new.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set: u32 = self.bytes.iter().map(|byte| byte.count_ones()).sum();
        f.debug_struct("StatusList")
            .field("bits", &self.len())
            .field("set", &set)
            .finish()
    }
}

impl Default for StatusList {
    fn default() -> StatusList {
        StatusList::new()
    }
}

impl StatusList {
    /// A list of [`MIN_STATUS_LIST_BITS`] clear bits.
    pub fn new() -> StatusList {
        StatusList {
            bytes: vec![0; MIN_STATUS_LIST_BITS / 8],
        }
    }

    /// A list of `bits` clear bits; `bits` must be a multiple of 8 and at least
    /// [`MIN_STATUS_LIST_BITS`].
    pub fn with_len(bits: usize) -> Result<StatusList, TrustError> {
        if bits < MIN_STATUS_LIST_BITS || bits % 8 != 0 || bits / 8 > MAX_STATUS_LIST_BYTES {
            return Err(TrustError::StatusList {
                list: "(new list)".to_owned(),
                reason: format!(
                    "length {bits} must be a multiple of 8 from {MIN_STATUS_LIST_BITS} to {}",
                    MAX_STATUS_LIST_BYTES * 8
                ),
            });
        }
        Ok(StatusList {
            bytes: vec![0; bits / 8],
        })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Never true: a list has at least [`MIN_STATUS_LIST_BITS`] entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Sets entry `index` to `value` (`true` = revoked/suspended).
    pub fn set(&mut self, index: usize, value: bool) -> Result<(), TrustError> {
        let (byte, mask) = self.position(index)?;
        if value {
            self.bytes[byte] |= mask;
        } else {
            self.bytes[byte] &= !mask;
        }
        Ok(())
    }

    /// Entry `index`.
    pub fn get(&self, index: usize) -> Result<bool, TrustError> {
        let (byte, mask) = self.position(index)?;
        Ok(self.bytes[byte] & mask != 0)
    }

    fn position(&self, index: usize) -> Result<(usize, u8), TrustError> {
        if index >= self.len() {
            return Err(TrustError::StatusList {
                list: "(encoded list)".to_owned(),
                reason: format!("index {index} is beyond the list's {} entries", self.len()),
            });
        }
        // Index 0 is the left-most bit: the most significant bit of the first byte.
        Ok((index / 8, 0x80 >> (index % 8)))
    }

    /// The `encodedList` form: `u` + base64url(GZIP(bitstring)), no padding.
    pub fn encode(&self) -> String {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(&self.bytes);
        let compressed = encoder.finish().unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    /// Parses an `encodedList`. The multibase `u` prefix is expected; a value without it is
    /// accepted as the unprefixed base64 of the older StatusList2021 (which starts with `H4sI`,
    /// the GZIP magic number, and so cannot be mistaken for a prefixed value).
    pub fn decode(encoded: &str) -> Result<StatusList, TrustError> {
        let error = |reason: String| TrustError::StatusList {
            list: "(encoded list)".to_owned(),
            reason,
        };
        let base64 = encoded.strip_prefix('u').unwrap_or(encoded);
        let compressed = URL_SAFE_NO_PAD
            .decode(base64.trim_end_matches('='))
            .map_err(|_| error("encodedList is not base64url".to_owned()))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_STATUS_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| error("encodedList is not GZIP data".to_owned()))?;
        if bytes.len() > MAX_STATUS_LIST_BYTES {
            return Err(error(format!(
                "bitstring inflates to more than {MAX_STATUS_LIST_BYTES} bytes"
            )));
        }
        if bytes.len() * 8 < MIN_STATUS_LIST_BITS {
            return Err(error(format!(
                "bitstring has {} entries, fewer than the {MIN_STATUS_LIST_BITS} required",
                bytes.len() * 8
            )));
        }
        Ok(StatusList { bytes })
    }
}

/// A `credentialStatus` entry of type `BitstringStatusListEntry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusListEntry {
    /// Optional id of the entry, e.g. `https://operator.example/status/1#94567`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `BitstringStatusListEntry`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// `revocation` or `suspension`.
    pub status_purpose: String,
    /// The credential's position in the list (a string of digits on the wire).
    #[serde(
        serialize_with = "index_as_string",
        deserialize_with = "index_from_string_or_number"
    )]
    pub status_list_index: usize,
    /// URL of the `BitstringStatusListCredential`.
    pub status_list_credential: String,
    /// Bits per entry; only 1 is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_size: Option<u64>,
}

impl StatusListEntry {
    /// An entry for position `index` in the list published at `list_url`.
    pub fn new(list_url: &str, index: usize, purpose: StatusPurpose) -> StatusListEntry {
        StatusListEntry {
            id: Some(format!("{list_url}#{index}")),
            entry_type: STATUS_LIST_ENTRY_TYPE.to_owned(),
            status_purpose: purpose.as_str().to_owned(),
            status_list_index: index,
            status_list_credential: list_url.to_owned(),
            status_size: None,
        }
    }
}

fn index_as_string<S: Serializer>(index: &usize, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&index.to_string())
}

fn index_from_string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<usize, D::Error> {
    use serde::de::Error as _;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text)
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse()
                .map_err(|_| D::Error::custom("statusListIndex is too large"))
        }
        serde_json::Value::Number(number) => number
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| D::Error::custom("statusListIndex must be a non-negative integer")),
        _ => Err(D::Error::custom(
            "statusListIndex must be a string of decimal digits",
        )),
    }
}

/// The `BitstringStatusListCredential` for `list`, published at `url` by `issuer`: subject
/// `{id: "<url>#list", type: "BitstringStatusList", statusPurpose, encodedList}`. Sign it with
/// [`crate::vc::issue_vc_jwt`] and serve the JWT at `url`.
pub fn status_list_credential(
    url: &str,
    issuer: &str,
    list: &StatusList,
    purpose: StatusPurpose,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
) -> Credential {
    let mut credential = Credential::new(
        STATUS_LIST_CREDENTIAL_TYPE,
        issuer,
        valid_from,
        json!({
            "id": format!("{url}#list"),
            "type": STATUS_LIST_SUBJECT_TYPE,
            "statusPurpose": purpose.as_str(),
            "encodedList": list.encode(),
        }),
    );
    credential.id = Some(url.to_owned());
    credential.valid_until = valid_until;
    credential
}

/// Fetches status list credentials (as `vc+jwt` strings). The server implements it with an
/// HTTP GET and a cache; it must only fetch `https` URLs.
#[async_trait]
pub trait StatusListSource: Send + Sync {
    /// The `vc+jwt` published at `url`.
    async fn status_list_credential(&self, url: &str) -> Result<String, TrustError>;
}

/// An in-memory [`StatusListSource`], for tests and fixed deployments.
#[derive(Debug, Default)]
pub struct StaticStatusLists {
    lists: RwLock<HashMap<String, String>>,
}

impl StaticStatusLists {
    /// An empty source: every lookup fails.
    pub fn new() -> StaticStatusLists {
        StaticStatusLists::default()
    }

    /// Publishes (or replaces) the status list credential `jwt` at `url`.
    pub fn insert(&self, url: &str, jwt: String) {
        self.lists
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(url.to_owned(), jwt);
    }
}

#[async_trait]
impl StatusListSource for StaticStatusLists {
    async fn status_list_credential(&self, url: &str) -> Result<String, TrustError> {
        self.lists
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(url)
            .cloned()
            .ok_or_else(|| TrustError::StatusList {
                list: url.to_owned(),
                reason: "no status list credential is published there".to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_encode_decode_round_trip() {
        let mut list = StatusList::new();
        assert_eq!(list.len(), 131_072);
        for index in [0, 7, 8, 94_567, 131_071] {
            assert!(!list.get(index).unwrap());
            list.set(index, true).unwrap();
            assert!(list.get(index).unwrap());
        }
        list.set(8, false).unwrap();
        let encoded = list.encode();
        assert!(encoded.starts_with("uH4sI"), "{encoded}");
        assert!(!encoded.contains('='));
        // Mostly zeros: a few hundred bytes, not 16 KiB.
        assert!(encoded.len() < 400, "{}", encoded.len());
        let back = StatusList::decode(&encoded).unwrap();
        assert_eq!(back, list);
        assert!(back.get(94_567).unwrap());
        assert!(!back.get(8).unwrap());
        assert!(back.get(131_072).is_err());
    }

    #[test]
    fn index_zero_is_the_left_most_bit() {
        let mut list = StatusList::new();
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        assert_eq!(&list.bytes[..2], &[0b1000_0000, 0b0100_0000]);
    }

    #[test]
    fn decoding_refuses_short_lists_and_garbage() {
        let short = {
            use std::io::Write as _;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&[0; 100]).unwrap();
            format!("u{}", URL_SAFE_NO_PAD.encode(encoder.finish().unwrap()))
        };
        for (encoded, reason) in [
            (short.as_str(), "fewer than"),
            ("u!!!", "not base64url"),
            ("uAAAA", "not GZIP"),
        ] {
            let error = StatusList::decode(encoded).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
        // A compression bomb stops at the limit.
        let bomb = {
            use std::io::Write as _;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder
                .write_all(&vec![0; MAX_STATUS_LIST_BYTES + 1024])
                .unwrap();
            format!("u{}", URL_SAFE_NO_PAD.encode(encoder.finish().unwrap()))
        };
        let error = StatusList::decode(&bomb).unwrap_err().to_string();
        assert!(error.contains("inflates to more than"), "{error}");
    }

    #[test]
    fn unprefixed_status_list_2021_values_are_accepted() {
        let mut list = StatusList::new();
        list.set(3, true).unwrap();
        let encoded = list.encode();
        let legacy = encoded.strip_prefix('u').unwrap();
        assert_eq!(StatusList::decode(legacy).unwrap(), list);
    }

    #[test]
    fn with_len_checks_the_size() {
        assert_eq!(StatusList::with_len(262_144).unwrap().len(), 262_144);
        assert!(StatusList::with_len(1024).is_err());
        assert!(StatusList::with_len(131_073).is_err());
    }

    #[test]
    fn entry_serialises_the_index_as_a_string_and_accepts_numbers() {
        let entry = StatusListEntry::new(
            "https://op.example/status/1",
            94_567,
            StatusPurpose::Revocation,
        );
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            json,
            json!({
                "id": "https://op.example/status/1#94567",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "94567",
                "statusListCredential": "https://op.example/status/1"
            })
        );
        assert_eq!(
            serde_json::from_value::<StatusListEntry>(json).unwrap(),
            entry
        );
        let mut numeric = serde_json::to_value(&entry).unwrap();
        numeric["statusListIndex"] = json!(94_567);
        assert_eq!(
            serde_json::from_value::<StatusListEntry>(numeric).unwrap(),
            entry
        );
        let mut negative = serde_json::to_value(&entry).unwrap();
        negative["statusListIndex"] = json!("-1");
        assert!(serde_json::from_value::<StatusListEntry>(negative).is_err());
    }

    #[test]
    fn credential_builder_has_the_specified_shape() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut list = StatusList::new();
        list.set(5, true).unwrap();
        let credential = status_list_credential(
            "https://op.example/status/1",
            "did:web:op.example",
            &list,
            StatusPurpose::Revocation,
            now,
            None,
        );
        let json = serde_json::to_value(&credential).unwrap();
        assert_eq!(
            json["type"],
            json!(["VerifiableCredential", "BitstringStatusListCredential"])
        );
        assert_eq!(json["id"], "https://op.example/status/1");
        assert_eq!(json["credentialSubject"]["type"], "BitstringStatusList");
        assert_eq!(json["credentialSubject"]["statusPurpose"], "revocation");
        let encoded = json["credentialSubject"]["encodedList"].as_str().unwrap();
        assert!(StatusList::decode(encoded).unwrap().get(5).unwrap());
    }
}
