//! Companies, plants and parts, with the field meanings of the Ouranos tables `operators`,
//! `plants` and `parts`.
//!
//! Identifiers that carry a check digit are validated when they are made and when they are
//! deserialized, so a stored record can never hold a mistyped corporate number or LEI.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::unit::{Quantity, Unit};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentifierError {
    #[error("a Japanese corporate number has exactly 13 digits, found {found:?}")]
    CorporateNumberFormat { found: String },
    #[error(
        "corporate number {number} starts with check digit {found}, but its 12 base digits \
         give check digit {expected}"
    )]
    CorporateNumberCheckDigit {
        number: String,
        expected: u8,
        found: u8,
    },
    #[error("an LEI has exactly 20 characters, each A-Z or 0-9 (ISO 17442), found {found:?}")]
    LeiFormat { found: String },
    #[error("LEI {lei} fails the ISO 17442 check (the number mod 97 must be 1)")]
    LeiChecksum { lei: String },
    #[error(
        "a VAT number starts with a two-letter country code followed by 2 to 12 letters or \
         digits, found {found:?}"
    )]
    VatFormat { found: String },
    #[error(
        "an EORI number starts with a two-letter country code followed by 1 to 15 letters or \
         digits, found {found:?}"
    )]
    EoriFormat { found: String },
    #[error(
        "an open plant id has 6 to 26 characters ending in 6 digits (Ouranos), found {found:?}"
    )]
    OpenPlantIdFormat { found: String },
    #[error("{found:?} is not a trace id (a UUID)")]
    TraceIdFormat { found: String },
}

/// The identifier of one part (one product variant with one parts structure) in the whole
/// chain, as Ouranos assigns it (`trace_id`, a UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TraceId(Uuid);

impl TraceId {
    pub fn new(uuid: Uuid) -> TraceId {
        TraceId(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for TraceId {
    fn from(uuid: Uuid) -> TraceId {
        TraceId(uuid)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TraceId {
    type Err = IdentifierError;
    fn from_str(text: &str) -> Result<TraceId, IdentifierError> {
        Uuid::parse_str(text)
            .map(TraceId)
            .map_err(|_| IdentifierError::TraceIdFormat {
                found: text.to_owned(),
            })
    }
}

/// A Japanese corporate number (法人番号): 13 digits, the first of which is a check digit over
/// the other twelve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CorporateNumber(String);

impl CorporateNumber {
    pub fn parse(text: &str) -> Result<CorporateNumber, IdentifierError> {
        let digits: Vec<u8> = text
            .bytes()
            .map(|b| b.wrapping_sub(b'0'))
            .take_while(|d| *d <= 9)
            .collect();
        if text.len() != 13 || digits.len() != 13 {
            return Err(IdentifierError::CorporateNumberFormat {
                found: text.to_owned(),
            });
        }
        let expected = corporate_number_check_digit(&digits[1..]);
        if digits[0] != expected {
            return Err(IdentifierError::CorporateNumberCheckDigit {
                number: text.to_owned(),
                expected,
                found: digits[0],
            });
        }
        Ok(CorporateNumber(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The National Tax Agency's rule: 9 − (Σ digit × weight mod 9) over the 12 base digits, the
/// weight being 1 at odd positions and 2 at even positions counted from the right.
fn corporate_number_check_digit(base: &[u8]) -> u8 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| u32::from(*digit) * if index % 2 == 0 { 1 } else { 2 })
        .sum();
    // The remainder is below 9, so the digit is 1..=9 and fits in a u8.
    9 - (sum % 9) as u8
}

impl TryFrom<String> for CorporateNumber {
    type Error = IdentifierError;
    fn try_from(text: String) -> Result<Self, IdentifierError> {
        CorporateNumber::parse(&text)
    }
}

impl From<CorporateNumber> for String {
    fn from(number: CorporateNumber) -> String {
        number.0
    }
}

/// A Legal Entity Identifier (ISO 17442): 20 characters whose base-36 reading mod 97 is 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lei(String);

impl Lei {
    pub fn parse(text: &str) -> Result<Lei, IdentifierError> {
        let well_formed = text.len() == 20
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !well_formed {
            return Err(IdentifierError::LeiFormat {
                found: text.to_owned(),
            });
        }
        // ISO 7064 MOD 97-10: letters count as two digits (A = 10 … Z = 35).
        let remainder = text.bytes().fold(0u32, |remainder, b| {
            if b.is_ascii_digit() {
                (remainder * 10 + u32::from(b - b'0')) % 97
            } else {
                (remainder * 100 + u32::from(b - b'A') + 10) % 97
            }
        });
        if remainder != 1 {
            return Err(IdentifierError::LeiChecksum {
                lei: text.to_owned(),
            });
        }
        Ok(Lei(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Lei {
    type Error = IdentifierError;
    fn try_from(text: String) -> Result<Self, IdentifierError> {
        Lei::parse(&text)
    }
}

impl From<Lei> for String {
    fn from(lei: Lei) -> String {
        lei.0
    }
}

/// Country prefix plus `min..=max` letters or digits: the shape shared by VAT and EORI numbers.
fn country_prefixed(text: &str, min: usize, max: usize) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2 + min
        && bytes.len() <= 2 + max
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// A VAT identification number. Only its shape is checked: national check digits differ per
/// country and are not verified here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatNumber(String);

impl VatNumber {
    pub fn parse(text: &str) -> Result<VatNumber, IdentifierError> {
        if country_prefixed(text, 2, 12) {
            Ok(VatNumber(text.to_owned()))
        } else {
            Err(IdentifierError::VatFormat {
                found: text.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VatNumber {
    type Error = IdentifierError;
    fn try_from(text: String) -> Result<Self, IdentifierError> {
        VatNumber::parse(&text)
    }
}

impl From<VatNumber> for String {
    fn from(number: VatNumber) -> String {
        number.0
    }
}

/// An EU Economic Operators Registration and Identification number. Shape only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EoriNumber(String);

impl EoriNumber {
    pub fn parse(text: &str) -> Result<EoriNumber, IdentifierError> {
        if country_prefixed(text, 1, 15) {
            Ok(EoriNumber(text.to_owned()))
        } else {
            Err(IdentifierError::EoriFormat {
                found: text.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EoriNumber {
    type Error = IdentifierError;
    fn try_from(text: String) -> Result<Self, IdentifierError> {
        EoriNumber::parse(&text)
    }
}

impl From<EoriNumber> for String {
    fn from(number: EoriNumber) -> String {
        number.0
    }
}

/// How a company is identified outside the data space. Ouranos puts the Japanese corporate
/// number in `open_operator_id` and suggests an LEI for `global_operator_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scheme", content = "value", rename_all = "snake_case")]
pub enum OperatorIdentifier {
    JapaneseCorporateNumber(CorporateNumber),
    Lei(Lei),
    Vat(VatNumber),
    Eori(EoriNumber),
}

impl OperatorIdentifier {
    pub fn as_str(&self) -> &str {
        match self {
            OperatorIdentifier::JapaneseCorporateNumber(n) => n.as_str(),
            OperatorIdentifier::Lei(n) => n.as_str(),
            OperatorIdentifier::Vat(n) => n.as_str(),
            OperatorIdentifier::Eori(n) => n.as_str(),
        }
    }

    pub fn scheme_name(&self) -> &'static str {
        match self {
            OperatorIdentifier::JapaneseCorporateNumber(_) => "Japanese corporate number",
            OperatorIdentifier::Lei(_) => "LEI",
            OperatorIdentifier::Vat(_) => "VAT number",
            OperatorIdentifier::Eori(_) => "EORI number",
        }
    }
}

impl fmt::Display for OperatorIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.scheme_name(), self.as_str())
    }
}

/// A company (Ouranos `operators`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// Ouranos `operator_id`: the internal identifier (a UUID).
    pub operator_id: Uuid,
    /// Ouranos `operator_name`.
    pub name: String,
    /// Ouranos `operator_address`.
    pub address: String,
    /// Ouranos `open_operator_id`: the public identifier, in Japan the corporate number.
    pub open_operator_id: OperatorIdentifier,
    /// Ouranos `global_operator_id`, typically an LEI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_operator_id: Option<OperatorIdentifier>,
}

/// The public plant identifier of Ouranos (`open_plant_id`): 6 to 26 characters, the last six
/// of them digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpenPlantId(String);

impl OpenPlantId {
    pub fn parse(text: &str) -> Result<OpenPlantId, IdentifierError> {
        let length = text.chars().count();
        let ends_in_six_digits = text.len() >= 6
            && text.as_bytes()[text.len() - 6..]
                .iter()
                .all(u8::is_ascii_digit);
        if (6..=26).contains(&length) && ends_in_six_digits {
            Ok(OpenPlantId(text.to_owned()))
        } else {
            Err(IdentifierError::OpenPlantIdFormat {
                found: text.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OpenPlantId {
    type Error = IdentifierError;
    fn try_from(text: String) -> Result<Self, IdentifierError> {
        OpenPlantId::parse(&text)
    }
}

impl From<OpenPlantId> for String {
    fn from(id: OpenPlantId) -> String {
        id.0
    }
}

/// A site of a company (Ouranos `plants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plant {
    /// Ouranos `plant_id` (internal UUID).
    pub plant_id: Uuid,
    /// The company the plant belongs to.
    pub operator_id: Uuid,
    pub name: String,
    pub address: String,
    /// Ouranos `open_plant_id`.
    pub open_plant_id: OpenPlantId,
    /// Ouranos `global_plant_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_plant_id: Option<String>,
}

/// A part (Ouranos `parts`): one product variant made at one plant. In Ouranos a part with a
/// different parts structure gets a different trace id even when it is the same article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Ouranos `trace_id`.
    pub trace_id: TraceId,
    /// The company that makes or buys the part (Ouranos `operator_id`).
    pub operator_id: Uuid,
    /// Where the part is made (Ouranos `plant_id`).
    pub plant_id: Uuid,
    /// Ouranos `parts_name` (部品項目): the item code or name, e.g. `A12345`.
    pub part_name: String,
    /// Ouranos `support_parts_name` (補助項目): an auxiliary designation such as the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_part_name: Option<String>,
    /// Ouranos `parts_label_name` (部品名称): a display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name: Option<String>,
    /// Ouranos `amount_required` (活動量): when the part is a child in a parts structure, how
    /// much of it one unit of the parent needs, in `amount_required_unit`. `None` on a part
    /// that is only a parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_required: Option<Decimal>,
    /// Ouranos `amount_required_unit` (活動量単位): the unit the part is counted in, and so the
    /// declared unit of its footprint. Ouranos admits null here; a footprint needs it.
    pub amount_required_unit: Unit,
    /// Ouranos `terminated_flag` (終端フラグ): the part is an end of the trade tree; no request
    /// goes further upstream for it.
    #[serde(default)]
    pub terminated_flag: bool,
    /// Ouranos `partsAddInfo1` to `partsAddInfo3` (部品補足情報): free notes such as a
    /// version or a validity period, kept as given.
    #[serde(default, skip_serializing_if = "no_additional_info")]
    pub additional_info: [Option<String>; 3],
}

fn no_additional_info(info: &[Option<String>; 3]) -> bool {
    info.iter().all(Option::is_none)
}

impl Part {
    /// The amount of this part one unit of its parent needs, when it is a child.
    pub fn amount_required_quantity(&self) -> Option<Quantity> {
        self.amount_required
            .map(|value| Quantity::new(value, self.amount_required_unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corporate_numbers_with_a_correct_check_digit_are_accepted() {
        // 7000012050002 is the National Tax Agency's own corporate number.
        for number in [
            "7000012050002",
            "4010001008772",
            "5010401089998",
            "1180301018771",
        ] {
            let parsed = CorporateNumber::parse(number).unwrap();
            assert_eq!(parsed.as_str(), number);
        }
    }

    #[test]
    fn corporate_numbers_are_refused_with_the_reason() {
        let cases = [
            (
                "8000012050002",
                "corporate number 8000012050002 starts with check digit 8, but its 12 base \
                 digits give check digit 7",
            ),
            // The sample id in the Ouranos tutorials is not a real corporate number.
            (
                "1234567890123",
                "corporate number 1234567890123 starts with check digit 1, but its 12 base \
                 digits give check digit 9",
            ),
            (
                "700001205000",
                "a Japanese corporate number has exactly 13 digits, found \"700001205000\"",
            ),
            (
                "7000012050002 ",
                "a Japanese corporate number has exactly 13 digits, found \"7000012050002 \"",
            ),
            (
                "70000120500O2",
                "a Japanese corporate number has exactly 13 digits, found \"70000120500O2\"",
            ),
            (
                "７000012050002",
                "a Japanese corporate number has exactly 13 digits, found \"７000012050002\"",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(
                CorporateNumber::parse(input).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn a_check_digit_of_nine_comes_from_a_sum_divisible_by_nine() {
        // Base digits summing (weighted) to 0 give 9 − 0 = 9.
        assert_eq!(corporate_number_check_digit(&[0; 12]), 9);
        assert!(CorporateNumber::parse("9000000000000").is_ok());
    }

    #[test]
    fn leis_are_checked_mod_97() {
        for lei in [
            "5493001KJTIIGC8Y1R12",
            "529900T8BM49AURSDO55",
            "HWUPKR0MPOU8FGXBT394",
        ] {
            assert!(Lei::parse(lei).is_ok(), "{lei}");
        }
        assert_eq!(
            Lei::parse("5493001KJTIIGC8Y1R13").unwrap_err(),
            IdentifierError::LeiChecksum {
                lei: "5493001KJTIIGC8Y1R13".into()
            }
        );
        // The Ouranos sample global id has 20 characters but no valid check digits.
        assert!(matches!(
            Lei::parse("1234ABCD5678EFGH0123"),
            Err(IdentifierError::LeiChecksum { .. })
        ));
        for bad in [
            "5493001kjtiigc8y1r12",
            "5493001KJTIIGC8Y1R1",
            "5493001KJTIIGC8Y1R12X",
        ] {
            assert!(matches!(
                Lei::parse(bad),
                Err(IdentifierError::LeiFormat { .. })
            ));
        }
    }

    #[test]
    fn vat_and_eori_numbers_are_checked_for_shape() {
        assert!(VatNumber::parse("DE123456789").is_ok());
        assert!(VatNumber::parse("FR40303265045").is_ok());
        assert!(VatNumber::parse("de123456789").is_err());
        assert!(VatNumber::parse("D1").is_err());
        assert!(EoriNumber::parse("DE1234567890123").is_ok());
        assert!(EoriNumber::parse("NL").is_err());
        assert!(EoriNumber::parse("NL1234567890123456").is_err());
    }

    #[test]
    fn identifiers_validate_on_deserialize() {
        let good = r#"{"scheme":"japanese_corporate_number","value":"7000012050002"}"#;
        let parsed: OperatorIdentifier = serde_json::from_str(good).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), good);
        let bad = r#"{"scheme":"japanese_corporate_number","value":"7000012050003"}"#;
        let err = serde_json::from_str::<OperatorIdentifier>(bad).unwrap_err();
        assert!(err.to_string().contains("check digit"), "{err}");
        let lei = r#"{"scheme":"lei","value":"5493001KJTIIGC8Y1R12"}"#;
        assert!(serde_json::from_str::<OperatorIdentifier>(lei).is_ok());
    }

    #[test]
    fn open_plant_ids_follow_the_ouranos_pattern() {
        assert!(OpenPlantId::parse("1234567890123012345").is_ok());
        assert!(OpenPlantId::parse("000001").is_ok());
        assert!(OpenPlantId::parse("12345").is_err());
        assert!(OpenPlantId::parse("plant-1234a").is_err());
        assert!(OpenPlantId::parse(&"1".repeat(27)).is_err());
    }

    #[test]
    fn a_part_round_trips_through_json() {
        let part = Part {
            trace_id: "40b77952-2c89-49be-8ce9-7c64a15e0ae7".parse().unwrap(),
            operator_id: Uuid::from_u128(1),
            plant_id: Uuid::from_u128(2),
            part_name: "部品A1".into(),
            support_part_name: Some("modelA-1".into()),
            label_name: None,
            amount_required: Some(Decimal::new(5, 0)),
            amount_required_unit: Unit::Kilogram,
            terminated_flag: false,
            additional_info: [Some("Ver3.0".into()), None, None],
        };
        let json = serde_json::to_string(&part).unwrap();
        assert_eq!(serde_json::from_str::<Part>(&json).unwrap(), part);
        assert_eq!(
            part.amount_required_quantity(),
            Some(Quantity::new(Decimal::new(5, 0), Unit::Kilogram))
        );
    }
}
