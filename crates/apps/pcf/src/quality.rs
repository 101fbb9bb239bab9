//! Data-quality ratings and evidence.
//!
//! Ouranos carries TeR (technological), GeR (geographical) and TiR (time-related
//! representativeness) per process as plain numbers ≥ 0 without a fixed scale; its examples
//! run from 1 to 4.6 and use 0 or null for "not rated". PACT v3 fixes 1 to 3. The EU battery
//! rules build on the Product Environmental Footprint method, whose data quality matrix rates
//! each criterion from 1 (excellent) to 5 (very poor); that is the scale used here. An
//! unrated contribution has no rating (`None`), never a 0.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QualityError {
    #[error("{criterion} {value} is outside the data quality scale 1 (excellent) to 5 (very poor)")]
    RatingOutOfRange {
        criterion: &'static str,
        value: Decimal,
    },
    #[error("{found:?} is not a SHA-256 digest: expected 64 lowercase hexadecimal characters")]
    DigestFormat { found: String },
}

/// TeR, GeR and TiR of one activity or stage, each from 1 (excellent) to 5 (very poor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRating")]
pub struct DataQualityRating {
    #[serde(rename = "TeR")]
    ter: Decimal,
    #[serde(rename = "GeR")]
    ger: Decimal,
    #[serde(rename = "TiR")]
    tir: Decimal,
}

#[derive(Deserialize)]
struct RawRating {
    #[serde(rename = "TeR")]
    ter: Decimal,
    #[serde(rename = "GeR")]
    ger: Decimal,
    #[serde(rename = "TiR")]
    tir: Decimal,
}

impl TryFrom<RawRating> for DataQualityRating {
    type Error = QualityError;
    fn try_from(raw: RawRating) -> Result<Self, QualityError> {
        DataQualityRating::new(raw.ter, raw.ger, raw.tir)
    }
}

impl DataQualityRating {
    pub const BEST: Decimal = Decimal::ONE;
    pub const WORST: Decimal = Decimal::from_parts(5, 0, 0, false, 0);

    pub fn new(ter: Decimal, ger: Decimal, tir: Decimal) -> Result<Self, QualityError> {
        for (criterion, value) in [("TeR", ter), ("GeR", ger), ("TiR", tir)] {
            if !(Self::BEST..=Self::WORST).contains(&value) {
                return Err(QualityError::RatingOutOfRange { criterion, value });
            }
        }
        Ok(DataQualityRating { ter, ger, tir })
    }

    /// A weighted mean of valid ratings lies in range but for rounding; this keeps it there.
    pub(crate) fn clamped(ter: Decimal, ger: Decimal, tir: Decimal) -> Self {
        let clamp = |value: Decimal| value.clamp(Self::BEST, Self::WORST);
        DataQualityRating {
            ter: clamp(ter),
            ger: clamp(ger),
            tir: clamp(tir),
        }
    }

    /// Technological representativeness.
    pub fn ter(&self) -> Decimal {
        self.ter
    }

    /// Geographical representativeness.
    pub fn ger(&self) -> Decimal {
        self.ger
    }

    /// Time-related representativeness.
    pub fn tir(&self) -> Decimal {
        self.tir
    }
}

/// The data quality of one stage of a result: the emission-weighted mean rating of the
/// contributions that were rated, and which share of the stage's emissions that covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDataQuality {
    pub rating: DataQualityRating,
    /// Rated emissions over all emissions of the stage (by absolute CO2e), 0 to 1. Below 1
    /// some contributions (own activities or supplier results) came without a rating.
    pub rated_share: Decimal,
}

/// A SHA-256 digest as 64 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(text: &str) -> Result<Sha256Hex, QualityError> {
        let well_formed = text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Sha256Hex(text.to_owned()))
        } else {
            Err(QualityError::DigestFormat {
                found: text.to_owned(),
            })
        }
    }

    pub fn of_bytes(bytes: &[u8]) -> Sha256Hex {
        let digest = Sha256::digest(bytes);
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        Sha256Hex(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = QualityError;
    fn try_from(text: String) -> Result<Self, QualityError> {
        Sha256Hex::parse(&text)
    }
}

impl From<Sha256Hex> for String {
    fn from(digest: Sha256Hex) -> String {
        digest.0
    }
}

/// A document backing activity data (an invoice, a meter reading, a measurement report).
/// Only its digest enters a footprint result: a verifier who is shown the file can check it,
/// and nobody else learns its content or name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub file_name: String,
    pub sha256: Sha256Hex,
}

impl Evidence {
    pub fn of_bytes(file_name: impl Into<String>, content: &[u8]) -> Evidence {
        Evidence {
            file_name: file_name.into(),
            sha256: Sha256Hex::of_bytes(content),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::d;

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        assert!(DataQualityRating::new(d("1"), d("2.5"), d("5")).is_ok());
        assert_eq!(
            DataQualityRating::new(d("0"), d("2"), d("3"))
                .unwrap_err()
                .to_string(),
            "TeR 0 is outside the data quality scale 1 (excellent) to 5 (very poor)"
        );
        assert!(DataQualityRating::new(d("1"), d("5.01"), d("3")).is_err());
        let err = serde_json::from_str::<DataQualityRating>(r#"{"TeR":"1","GeR":"2","TiR":"6"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("TiR 6 is outside"), "{err}");
    }

    #[test]
    fn ratings_use_the_ouranos_names_in_json() {
        let rating = DataQualityRating::new(d("1"), d("2"), d("3")).unwrap();
        let json = serde_json::to_string(&rating).unwrap();
        assert_eq!(json, r#"{"TeR":"1","GeR":"2","TiR":"3"}"#);
        // Ouranos sends numbers; they are read exactly.
        let from_numbers: DataQualityRating =
            serde_json::from_str(r#"{"TeR":2.1,"GeR":3.2,"TiR":3.3}"#).unwrap();
        assert_eq!(from_numbers.ger(), d("3.2"));
    }

    #[test]
    fn digests_are_computed_and_validated() {
        // SHA-256 of the empty input.
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Sha256Hex::of_bytes(b"").as_str(), empty);
        assert_eq!(Evidence::of_bytes("meter.csv", b"").sha256.as_str(), empty);
        assert!(Sha256Hex::parse(empty).is_ok());
        assert!(Sha256Hex::parse(&empty.to_uppercase()).is_err());
        assert!(Sha256Hex::parse(&empty[1..]).is_err());
        assert!(serde_json::from_str::<Sha256Hex>("\"abc\"").is_err());
    }
}
