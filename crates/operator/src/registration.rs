//! Company registration numbers, checked before an application is accepted: a Japanese
//! corporate number (法人番号) with its check digit, an LEI with its ISO 7064 check, an EU
//! VAT number or an EORI number by their shape.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which register a number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RegistrationKind {
    /// The 13-digit corporate number of Japan's National Tax Agency.
    CorporateNumberJp,
    /// ISO 17442 Legal Entity Identifier.
    Lei,
    /// EU value-added-tax identification number.
    Vat,
    /// EU Economic Operators Registration and Identification number.
    Eori,
}

impl fmt::Display for RegistrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegistrationKind::CorporateNumberJp => "corporateNumberJp",
            RegistrationKind::Lei => "lei",
            RegistrationKind::Vat => "vat",
            RegistrationKind::Eori => "eori",
        })
    }
}

/// A registration number that passed its register's checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationNumber {
    pub kind: RegistrationKind,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("a Japanese corporate number has 13 digits, {0:?} does not")]
    CorporateNumberShape(String),
    #[error("corporate number {number} fails its check digit (expected {expected} first)")]
    CorporateNumberCheckDigit { number: String, expected: u32 },
    #[error("an LEI is 18 letters or digits followed by 2 check digits, {0:?} is not")]
    LeiShape(String),
    #[error("LEI {0} fails its ISO 7064 mod 97 check")]
    LeiCheck(String),
    #[error(
        "{kind} number {value:?} must be a two-letter country code followed by {min}-{max} letters or digits"
    )]
    CountryPrefixedShape {
        kind: RegistrationKind,
        value: String,
        min: usize,
        max: usize,
    },
}

impl RegistrationNumber {
    /// Checks `value` against the rules of its register. Spaces and hyphens, which people
    /// type for readability, are removed first; letters are upper-cased.
    pub fn parse(
        kind: RegistrationKind,
        value: &str,
    ) -> Result<RegistrationNumber, RegistrationError> {
        let value: String = value
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match kind {
            RegistrationKind::CorporateNumberJp => check_corporate_number(&value)?,
            RegistrationKind::Lei => check_lei(&value)?,
            RegistrationKind::Vat => check_country_prefixed(kind, &value, 2, 13)?,
            RegistrationKind::Eori => check_country_prefixed(kind, &value, 1, 15)?,
        }
        Ok(RegistrationNumber { kind, value })
    }
}

/// The check digit of a Japanese corporate number for its twelve base digits (ASCII digits):
/// 9 − (Σ Pn × Qn mod 9), where Pn is the n-th digit counted from the right and Qn is 1 for
/// odd n and 2 for even n. The check digit comes first in the 13-digit number.
pub fn corporate_number_check_digit(base: &[u8]) -> u32 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 0 { digit } else { digit * 2 }
        })
        .sum();
    9 - sum % 9
}

fn check_corporate_number(value: &str) -> Result<(), RegistrationError> {
    if value.len() != 13 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RegistrationError::CorporateNumberShape(value.to_owned()));
    }
    let expected = corporate_number_check_digit(&value.as_bytes()[1..]);
    if u32::from(value.as_bytes()[0] - b'0') != expected {
        return Err(RegistrationError::CorporateNumberCheckDigit {
            number: value.to_owned(),
            expected,
        });
    }
    Ok(())
}

fn check_lei(value: &str) -> Result<(), RegistrationError> {
    let shape_ok = value.len() == 20
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && value.as_bytes()[18..].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(RegistrationError::LeiShape(value.to_owned()));
    }
    if iso7064_mod97(value) != 1 {
        return Err(RegistrationError::LeiCheck(value.to_owned()));
    }
    Ok(())
}

/// Letters count as two-digit numbers (A = 10 … Z = 35); the remainder is folded digit by
/// digit so no big integer is needed.
fn iso7064_mod97(value: &str) -> u32 {
    value.chars().fold(0u32, |acc, c| {
        let n = c.to_digit(36).expect("shape was checked");
        if n >= 10 {
            (acc * 100 + n) % 97
        } else {
            (acc * 10 + n) % 97
        }
    })
}

fn check_country_prefixed(
    kind: RegistrationKind,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), RegistrationError> {
    let bytes = value.as_bytes();
    let ok = bytes.len() >= 2 + min
        && bytes.len() <= 2 + max
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..].iter().all(u8::is_ascii_alphanumeric);
    if !ok {
        return Err(RegistrationError::CountryPrefixedShape {
            kind,
            value: value.to_owned(),
            min,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes a valid LEI from an 18-character base, as the LEI issuers do.
    fn lei_from_base(base: &str) -> String {
        let check = 98 - iso7064_mod97(&format!("{base}00"));
        format!("{base}{check:02}")
    }

    #[test]
    fn corporate_numbers() {
        // The National Tax Agency's own corporate number.
        let parsed =
            RegistrationNumber::parse(RegistrationKind::CorporateNumberJp, "7000012050002")
                .unwrap();
        assert_eq!(parsed.value, "7000012050002");
        // People write it with hyphens or spaces.
        RegistrationNumber::parse(RegistrationKind::CorporateNumberJp, "7-0000-1205-0002").unwrap();
        assert_eq!(
            RegistrationNumber::parse(RegistrationKind::CorporateNumberJp, "8000012050002"),
            Err(RegistrationError::CorporateNumberCheckDigit {
                number: "8000012050002".into(),
                expected: 7
            })
        );
        for bad in ["700001205000", "70000120500021", "70000120500A2", ""] {
            assert!(matches!(
                RegistrationNumber::parse(RegistrationKind::CorporateNumberJp, bad),
                Err(RegistrationError::CorporateNumberShape(_))
            ));
        }
    }

    #[test]
    fn every_wrong_check_digit_is_caught() {
        let base = "000012050002";
        let valid: Vec<u32> = (0..10)
            .filter(|d| {
                RegistrationNumber::parse(
                    RegistrationKind::CorporateNumberJp,
                    &format!("{d}{base}"),
                )
                .is_ok()
            })
            .collect();
        assert_eq!(valid, [7]);
    }

    #[test]
    fn leis() {
        let lei = lei_from_base("5493001KJTIIGC8Y1R");
        assert_eq!(
            lei, "5493001KJTIIGC8Y1R12",
            "a published LEI (Bloomberg Finance L.P.)"
        );
        RegistrationNumber::parse(RegistrationKind::Lei, &lei).unwrap();
        RegistrationNumber::parse(RegistrationKind::Lei, &lei.to_lowercase()).unwrap();
        assert!(matches!(
            RegistrationNumber::parse(RegistrationKind::Lei, "5493001KJTIIGC8Y1R13"),
            Err(RegistrationError::LeiCheck(_))
        ));
        // Swapping two characters is caught.
        assert!(matches!(
            RegistrationNumber::parse(RegistrationKind::Lei, "4593001KJTIIGC8Y1R12"),
            Err(RegistrationError::LeiCheck(_))
        ));
        assert!(matches!(
            RegistrationNumber::parse(RegistrationKind::Lei, "5493001KJTIIGC8Y1RAB"),
            Err(RegistrationError::LeiShape(_))
        ));
    }

    #[test]
    fn vat_and_eori() {
        RegistrationNumber::parse(RegistrationKind::Vat, "DE 123456789").unwrap();
        RegistrationNumber::parse(RegistrationKind::Eori, "FR123456789012345").unwrap();
        assert!(RegistrationNumber::parse(RegistrationKind::Vat, "123456789").is_err());
        assert!(RegistrationNumber::parse(RegistrationKind::Vat, "DE1").is_err());
        assert!(RegistrationNumber::parse(RegistrationKind::Eori, "DE1234567890123456").is_err());
    }
}
