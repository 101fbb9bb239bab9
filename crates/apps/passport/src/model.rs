//! The Catena-X BatteryPass aspect 6.1.0 as a validated JSON document.
//!
//! The aspect has some three hundred fields, most of them document links; the app reads a
//! few dozen of them and passes the rest through. So a passport is kept as the JSON object it
//! travels as, checked on the way in for everything this crate relies on (the sections the
//! schema requires, identifiers, enumerations, dates, numbers and their ranges), with typed
//! accessors for what the lifecycle and the web page read. The full schema check is a test
//! against the official JSON schema (`tests/schema.rs`), not a runtime dependency.
//!
//! Dates stay text: the aspect's `DateTrait` is only the pattern `\d{4}-\d{2}-\d{2}` (the
//! official example has `"intoServiceDate": "7172-75-08"`, which the schema accepts), and an
//! exchange format must not be stricter than its schema on what it receives.

use serde_json::{Map, Value};
use thiserror::Error;

/// `specVersion` of every passport this crate writes and reads.
pub const SPEC_VERSION: &str = "urn:io.catenax.battery.battery_pass:6.1.0";

/// The aspect model URN (the `vct` of the SD-JWT the passport is issued as).
pub const ASPECT_URN: &str = "urn:samm:io.catenax.battery.battery_pass:6.1.0#BatteryPass";

/// The sections the aspect's JSON schema requires at the top level.
const REQUIRED_SECTIONS: [&str; 11] = [
    "identification",
    "operation",
    "characteristics",
    "sustainability",
    "materials",
    "performance",
    "conformity",
    "safety",
    "metadata",
    "commercial",
    "handling",
];

/// What is wrong with a passport document, with the JSON pointer of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("passport field {pointer}: {reason}")]
pub struct ModelError {
    pub pointer: String,
    pub reason: String,
}

fn invalid(pointer: &str, reason: impl Into<String>) -> ModelError {
    ModelError {
        pointer: pointer.to_owned(),
        reason: reason.into(),
    }
}

/// `metadata.status`: the state of the passport document itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PassportStatus {
    Draft,
    Approved,
    /// Superseded by a successor passport (Art. 77(7)).
    Invalid,
    /// Ended: the battery was recycled (Art. 77(8)).
    Expired,
}

impl PassportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PassportStatus::Draft => "draft",
            PassportStatus::Approved => "approved",
            PassportStatus::Invalid => "invalid",
            PassportStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<PassportStatus> {
        [
            PassportStatus::Draft,
            PassportStatus::Approved,
            PassportStatus::Invalid,
            PassportStatus::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// `sustainability.status`: the state of the battery (Annex XIII 4(c)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatteryState {
    Original,
    Repurposed,
    ReUsed,
    Remanufactured,
    Waste,
}

impl BatteryState {
    pub const ALL: [BatteryState; 5] = [
        BatteryState::Original,
        BatteryState::Repurposed,
        BatteryState::ReUsed,
        BatteryState::Remanufactured,
        BatteryState::Waste,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BatteryState::Original => "original",
            BatteryState::Repurposed => "repurposed",
            BatteryState::ReUsed => "re-used",
            BatteryState::Remanufactured => "remanufactured",
            BatteryState::Waste => "waste",
        }
    }

    pub fn parse(text: &str) -> Option<BatteryState> {
        BatteryState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// A BatteryPass 6.1.0 document that passed [`BatteryPass::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryPass {
    document: Map<String, Value>,
}

impl BatteryPass {
    /// Checks `value` and wraps it. Refused, with the pointer of the first problem: anything
    /// but an object; another `specVersion`; a missing required section; a passport identifier
    /// or predecessor that is not a UUID; a status outside the enumerations; a date that is not
    /// `YYYY-MM-DD`; a manufacturer or operator that is not a BPNL; a carbon footprint entry
    /// without a non-negative value; a recycled or renewable share outside 0 to 100.
    pub fn from_json(value: Value) -> Result<BatteryPass, ModelError> {
        let Value::Object(document) = value else {
            return Err(invalid("", "a passport is a JSON object"));
        };
        check(&document)?;
        Ok(BatteryPass { document })
    }

    pub fn as_json(&self) -> &Map<String, Value> {
        &self.document
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.document.clone())
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.document)
    }

    /// `metadata.passportIdentifier` as written (`urn:uuid:…` or a bare UUID).
    pub fn passport_identifier(&self) -> &str {
        text_at(&self.document, "/metadata/passportIdentifier").unwrap_or_default()
    }

    pub fn passport_status(&self) -> PassportStatus {
        text_at(&self.document, "/metadata/status")
            .and_then(PassportStatus::parse)
            .unwrap_or(PassportStatus::Draft)
    }

    pub fn battery_state(&self) -> BatteryState {
        text_at(&self.document, "/sustainability/status")
            .and_then(BatteryState::parse)
            .unwrap_or(BatteryState::Original)
    }

    /// Replaces the value at `pointer` (whose parent must exist) and checks the result again,
    /// so that an edit can never leave an invalid passport behind.
    pub(crate) fn set(&mut self, pointer: &str, value: Value) -> Result<(), ModelError> {
        let mut edited = Value::Object(self.document.clone());
        let (parent, name) = pointer
            .rsplit_once('/')
            .ok_or_else(|| invalid(pointer, "not a JSON pointer"))?;
        let slot = edited
            .pointer_mut(parent)
            .ok_or_else(|| invalid(pointer, "the enclosing object is missing"))?;
        match slot {
            Value::Object(object) => {
                object.insert(name.to_owned(), value);
            }
            Value::Array(array) => {
                if name == "-" {
                    array.push(value);
                } else {
                    let index: usize = name
                        .parse()
                        .map_err(|_| invalid(pointer, "array index expected"))?;
                    let element = array
                        .get_mut(index)
                        .ok_or_else(|| invalid(pointer, "array index out of range"))?;
                    *element = value;
                }
            }
            _ => return Err(invalid(pointer, "the enclosing value is not an object")),
        }
        *self = BatteryPass::from_json(edited)?;
        Ok(())
    }
}

fn text_at<'a>(document: &'a Map<String, Value>, pointer: &str) -> Option<&'a str> {
    let mut tokens = pointer.split('/').skip(1);
    let first = tokens.next()?;
    let mut value = document.get(first)?;
    for token in tokens {
        value = value.get(token)?;
    }
    value.as_str()
}

fn check(document: &Map<String, Value>) -> Result<(), ModelError> {
    match document.get("specVersion") {
        Some(Value::String(version)) if version == SPEC_VERSION => {}
        Some(Value::String(_)) => {
            return Err(invalid(
                "/specVersion",
                format!("only {SPEC_VERSION} is supported"),
            ));
        }
        Some(_) => return Err(invalid("/specVersion", "must be a string")),
        None => {
            return Err(invalid(
                "/specVersion",
                format!("missing; expected {SPEC_VERSION}"),
            ));
        }
    }
    for section in REQUIRED_SECTIONS {
        match document.get(section) {
            Some(Value::Object(_)) => {}
            Some(_) => return Err(invalid(&format!("/{section}"), "must be an object")),
            None => return Err(invalid(&format!("/{section}"), "required section missing")),
        }
    }
    // A JSON pointer into the document, without copying it into a `Value`.
    let get = |pointer: &str| -> Option<&Value> {
        let mut tokens = pointer.split('/').skip(1);
        let mut value = document.get(tokens.next()?)?;
        for token in tokens {
            value = match value {
                Value::Object(object) => object.get(token)?,
                Value::Array(array) => array.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    };

    require_uuid(
        get("/metadata/passportIdentifier"),
        "/metadata/passportIdentifier",
        true,
    )?;
    require_uuid(get("/metadata/predecessor"), "/metadata/predecessor", false)?;
    require_enum(
        get("/metadata/status"),
        "/metadata/status",
        &["draft", "approved", "invalid", "expired"],
        true,
    )?;
    require_string(get("/metadata/version"), "/metadata/version", true)?;
    require_enum(
        get("/sustainability/status"),
        "/sustainability/status",
        &BatteryState::ALL.map(BatteryState::as_str),
        true,
    )?;
    require_enum(
        get("/identification/category"),
        "/identification/category",
        &["SLI", "LMT", "EV", "industrial", "portable", "incorporated"],
        true,
    )?;
    require_string(
        get("/identification/chemistry"),
        "/identification/chemistry",
        true,
    )?;
    for pointer in [
        "/metadata/issueDate",
        "/metadata/expirationDate",
        "/metadata/lastModification",
        "/operation/manufacturer/manufacturingDate",
        "/operation/intoServiceDate",
        "/commercial/placedOnMarket",
    ] {
        require_date(get(pointer), pointer)?;
    }
    require_bpn(
        get("/metadata/economicOperatorId"),
        "/metadata/economicOperatorId",
        "BPNL",
        false,
    )?;
    require_bpn(
        get("/operation/manufacturer/manufacturer"),
        "/operation/manufacturer/manufacturer",
        "BPNL",
        true,
    )?;
    match get("/sustainability/carbonFootprint") {
        Some(Value::Array(entries)) => {
            for (index, entry) in entries.iter().enumerate() {
                let base = format!("/sustainability/carbonFootprint/{index}");
                let value = entry.get("value");
                match value.and_then(Value::as_f64) {
                    Some(v) if v >= 0.0 && v.is_finite() => {}
                    Some(_) => {
                        return Err(invalid(&format!("{base}/value"), "must not be negative"));
                    }
                    None => return Err(invalid(&format!("{base}/value"), "a number is required")),
                }
                require_string(entry.get("lifecycle"), &format!("{base}/lifecycle"), true)?;
                require_string(entry.get("type"), &format!("{base}/type"), true)?;
                require_string(entry.get("unit"), &format!("{base}/unit"), true)?;
            }
        }
        Some(_) => {
            return Err(invalid(
                "/sustainability/carbonFootprint",
                "must be an array",
            ));
        }
        None => {
            return Err(invalid(
                "/sustainability/carbonFootprint",
                "required field missing",
            ));
        }
    }
    for material in ["nickel", "cobalt", "lithium", "lead"] {
        let pointer = format!("/materials/active/{material}/recycled");
        require_share(get(&pointer), &pointer)?;
    }
    require_share(
        get("/materials/hazardous/lead/recycled"),
        "/materials/hazardous/lead/recycled",
    )?;
    if let Some(Value::Array(entries)) = get("/materials/composition") {
        for (index, entry) in entries.iter().enumerate() {
            for field in ["recycled", "renewable"] {
                let pointer = format!("/materials/composition/{index}/{field}");
                require_share(entry.get(field), &pointer)?;
            }
        }
    }
    Ok(())
}

fn require_string(value: Option<&Value>, pointer: &str, required: bool) -> Result<(), ModelError> {
    match value {
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(invalid(pointer, "must be a string")),
        None if required => Err(invalid(pointer, "required field missing")),
        None => Ok(()),
    }
}

fn require_enum(
    value: Option<&Value>,
    pointer: &str,
    allowed: &[&str],
    required: bool,
) -> Result<(), ModelError> {
    match value {
        Some(Value::String(text)) if allowed.contains(&text.as_str()) => Ok(()),
        Some(_) => Err(invalid(
            pointer,
            format!("must be one of {}", allowed.join(", ")),
        )),
        None if required => Err(invalid(pointer, "required field missing")),
        None => Ok(()),
    }
}

/// A UUID in the canonical 8-4-4-4-12 hex form, bare or as `urn:uuid:`.
pub(crate) fn is_uuid(text: &str) -> bool {
    let bare = text.strip_prefix("urn:uuid:").unwrap_or(text);
    let groups: Vec<&str> = bare.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn require_uuid(value: Option<&Value>, pointer: &str, required: bool) -> Result<(), ModelError> {
    match value {
        Some(Value::String(text)) if is_uuid(text) => Ok(()),
        Some(_) => Err(invalid(pointer, "must be a UUID (urn:uuid:…)")),
        None if required => Err(invalid(pointer, "required field missing")),
        None => Ok(()),
    }
}

/// The aspect's `DateTrait`: `\d{4}-\d{2}-\d{2}`, nothing more.
pub(crate) fn is_date_trait(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

fn require_date(value: Option<&Value>, pointer: &str) -> Result<(), ModelError> {
    match value {
        None => Ok(()),
        Some(Value::String(text)) if is_date_trait(text) => Ok(()),
        Some(_) => Err(invalid(pointer, "must be a date YYYY-MM-DD")),
    }
}

/// A Catena-X business partner number: the prefix and 12 letters or digits.
pub(crate) fn is_bpn(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn require_bpn(
    value: Option<&Value>,
    pointer: &str,
    prefix: &str,
    required: bool,
) -> Result<(), ModelError> {
    match value {
        Some(Value::String(text)) if is_bpn(text, prefix) => Ok(()),
        Some(_) => Err(invalid(
            pointer,
            format!("must be a business partner number {prefix} followed by 12 letters or digits"),
        )),
        None if required => Err(invalid(pointer, "required field missing")),
        None => Ok(()),
    }
}

fn require_share(value: Option<&Value>, pointer: &str) -> Result<(), ModelError> {
    match value {
        None => Ok(()),
        Some(value) => match value.as_f64() {
            Some(share) if (0.0..=100.0).contains(&share) => Ok(()),
            _ => Err(invalid(pointer, "must be a percentage from 0 to 100")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        crate::demo::demo_battery_pass_json(
            "urn:uuid:6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01",
            "LA:TSUNAGU:PACK-0001",
            "2026-11-30",
        )
    }

    #[test]
    fn the_demo_document_passes() {
        let pass = BatteryPass::from_json(minimal()).unwrap();
        assert_eq!(pass.battery_state(), BatteryState::Original);
        assert_eq!(pass.passport_status(), PassportStatus::Approved);
    }

    #[test]
    fn bad_documents_are_refused_with_the_field() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/specVersion",
                json!("urn:io.catenax.battery.battery_pass:5.0.0"),
                "/specVersion",
            ),
            (
                "/metadata/passportIdentifier",
                json!("nope"),
                "/metadata/passportIdentifier",
            ),
            ("/metadata/status", json!("live"), "/metadata/status"),
            (
                "/sustainability/status",
                json!("broken"),
                "/sustainability/status",
            ),
            (
                "/operation/manufacturer/manufacturer",
                json!("ACME"),
                "/operation/manufacturer/manufacturer",
            ),
            (
                "/metadata/issueDate",
                json!("30.11.2026"),
                "/metadata/issueDate",
            ),
            (
                "/materials/active/nickel/recycled",
                json!(120.0),
                "/materials/active/nickel/recycled",
            ),
            (
                "/sustainability/carbonFootprint/0/value",
                json!(-1.0),
                "/sustainability/carbonFootprint/0/value",
            ),
        ];
        for (pointer, value, expected) in cases {
            let mut document = minimal();
            *document.pointer_mut(pointer).unwrap() = value;
            let error = BatteryPass::from_json(document).unwrap_err();
            assert_eq!(error.pointer, expected, "{error}");
        }
        let mut document = minimal();
        document.as_object_mut().unwrap().remove("handling");
        assert_eq!(
            BatteryPass::from_json(document).unwrap_err().pointer,
            "/handling"
        );
        assert!(BatteryPass::from_json(json!([])).is_err());
    }

    #[test]
    fn set_refuses_an_edit_that_breaks_the_document_and_keeps_the_old_one() {
        let mut pass = BatteryPass::from_json(minimal()).unwrap();
        let before = pass.clone();
        assert!(pass.set("/metadata/status", json!("gone")).is_err());
        assert_eq!(pass, before);
        pass.set("/metadata/status", json!("invalid")).unwrap();
        assert_eq!(pass.passport_status(), PassportStatus::Invalid);
    }

    #[test]
    fn uuid_and_date_forms() {
        assert!(is_uuid("urn:uuid:550e8400-e29b-41d4-a716-446655440000"));
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_uuid("urn:uuid:550e8400-e29b-41d4-a716-44665544000"));
        assert!(is_date_trait("7172-75-08"));
        assert!(!is_date_trait("2024-1-01"));
        assert!(is_bpn("BPNL0123456789ZZ", "BPNL"));
        assert!(!is_bpn("BPNA0123456789ZZ", "BPNL"));
    }
}
