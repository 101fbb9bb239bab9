//! Every official DSP 2025-1 example parses into its wire type, and what the wire type writes
//! back still validates against the official schema and says the same thing.
//!
//! The examples are what other connectors send; a wire type that refuses one refuses a
//! conforming partner. The round trip shows that nothing tsunagu relays or answers loses
//! conformance on the way through its types.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tsunagu_testkit::{DspSchemas, dsp_examples, require_spec};
use tsunagu_wire::{self as wire, DspMessage};

/// How many examples the bundle holds (6 catalog, 11 negotiation, 7 transfer, 1 version
/// document), so that a file the dispatcher does not know cannot go unnoticed.
const EXPECTED_EXAMPLES: usize = 25;

/// The kinds of document the examples cover, with the number of examples of each.
const EXPECTED_KINDS: [(&str, usize); 21] = [
    ("Catalog", 2),
    ("CatalogError", 1),
    ("CatalogRequestMessage", 1),
    ("ContractAgreementMessage", 2),
    ("ContractAgreementVerificationMessage", 1),
    ("ContractNegotiation", 1),
    ("ContractNegotiationError", 1),
    ("ContractNegotiationEventMessage", 1),
    ("ContractNegotiationTerminationMessage", 1),
    ("ContractOfferMessage", 2),
    ("ContractRequestMessage", 2),
    ("Dataset", 1),
    ("DatasetRequestMessage", 1),
    ("TransferCompletionMessage", 1),
    ("TransferError", 1),
    ("TransferProcess", 1),
    ("TransferRequestMessage", 1),
    ("TransferStartMessage", 1),
    ("TransferSuspensionMessage", 1),
    ("TransferTerminationMessage", 1),
    ("VersionResponse", 1),
];

/// Parses a message the way an endpoint does (`wire::parse`) and writes it back.
fn message_round_trip<M: DspMessage>(bytes: &[u8]) -> Result<Value, String> {
    let message = wire::parse::<M>(bytes).map_err(|error| error.to_string())?;
    serde_json::to_value(&message).map_err(|error| format!("re-serialising: {error}"))
}

/// Reads a document that is not a message (catalog, dataset, version document) with serde.
fn document_round_trip<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<Value, String> {
    let document: T = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    serde_json::to_value(&document).map_err(|error| format!("re-serialising: {error}"))
}

/// The kind of an example and its round trip through the matching wire type, or `None` for a
/// document this test does not know (which fails the test through the counts).
fn round_trip(example: &Value, bytes: &[u8]) -> Option<(&'static str, Result<Value, String>)> {
    let kind = match example.get("@type").and_then(Value::as_str) {
        Some(kind) => kind,
        None if example.get("protocolVersions").is_some() => "VersionResponse",
        None => return None,
    };
    Some(match kind {
        "CatalogRequestMessage" => (
            wire::CatalogRequestMessage::TYPE,
            message_round_trip::<wire::CatalogRequestMessage>(bytes),
        ),
        "DatasetRequestMessage" => (
            wire::DatasetRequestMessage::TYPE,
            message_round_trip::<wire::DatasetRequestMessage>(bytes),
        ),
        "CatalogError" => (
            wire::CatalogError::TYPE,
            message_round_trip::<wire::CatalogError>(bytes),
        ),
        "Catalog" => ("Catalog", document_round_trip::<wire::Catalog>(bytes)),
        "Dataset" => ("Dataset", document_round_trip::<wire::Dataset>(bytes)),
        "VersionResponse" => (
            "VersionResponse",
            document_round_trip::<wire::VersionResponse>(bytes),
        ),
        "ContractRequestMessage" => (
            wire::ContractRequestMessage::TYPE,
            message_round_trip::<wire::ContractRequestMessage>(bytes),
        ),
        "ContractOfferMessage" => (
            wire::ContractOfferMessage::TYPE,
            message_round_trip::<wire::ContractOfferMessage>(bytes),
        ),
        "ContractAgreementMessage" => (
            wire::ContractAgreementMessage::TYPE,
            message_round_trip::<wire::ContractAgreementMessage>(bytes),
        ),
        "ContractAgreementVerificationMessage" => (
            wire::ContractAgreementVerificationMessage::TYPE,
            message_round_trip::<wire::ContractAgreementVerificationMessage>(bytes),
        ),
        "ContractNegotiationEventMessage" => (
            wire::ContractNegotiationEventMessage::TYPE,
            message_round_trip::<wire::ContractNegotiationEventMessage>(bytes),
        ),
        "ContractNegotiationTerminationMessage" => (
            wire::ContractNegotiationTerminationMessage::TYPE,
            message_round_trip::<wire::ContractNegotiationTerminationMessage>(bytes),
        ),
        "ContractNegotiation" => (
            wire::ContractNegotiation::TYPE,
            message_round_trip::<wire::ContractNegotiation>(bytes),
        ),
        "ContractNegotiationError" => (
            wire::ContractNegotiationError::TYPE,
            message_round_trip::<wire::ContractNegotiationError>(bytes),
        ),
        "TransferRequestMessage" => (
            wire::TransferRequestMessage::TYPE,
            message_round_trip::<wire::TransferRequestMessage>(bytes),
        ),
        "TransferStartMessage" => (
            wire::TransferStartMessage::TYPE,
            message_round_trip::<wire::TransferStartMessage>(bytes),
        ),
        "TransferSuspensionMessage" => (
            wire::TransferSuspensionMessage::TYPE,
            message_round_trip::<wire::TransferSuspensionMessage>(bytes),
        ),
        "TransferCompletionMessage" => (
            wire::TransferCompletionMessage::TYPE,
            message_round_trip::<wire::TransferCompletionMessage>(bytes),
        ),
        "TransferTerminationMessage" => (
            wire::TransferTerminationMessage::TYPE,
            message_round_trip::<wire::TransferTerminationMessage>(bytes),
        ),
        "TransferProcess" => (
            wire::TransferProcess::TYPE,
            message_round_trip::<wire::TransferProcess>(bytes),
        ),
        "TransferError" => (
            wire::TransferError::TYPE,
            message_round_trip::<wire::TransferError>(bytes),
        ),
        _ => return None,
    })
}

/// The document with every member whose value is an empty array removed: an empty optional
/// list (`"filter": []`) says the same as none, and the wire types do not write one.
fn without_empty_arrays(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, member)| !member.as_array().is_some_and(Vec::is_empty))
                .map(|(key, member)| (key.clone(), without_empty_arrays(member)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_empty_arrays).collect()),
        other => other.clone(),
    }
}

fn name(path: &Path) -> String {
    let mut parts: Vec<String> = path
        .iter()
        .rev()
        .take(3)
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    parts.reverse();
    parts.join("/")
}

#[test]
fn every_official_example_parses_and_round_trips_conformant() {
    let Some(spec) = require_spec() else { return };
    let schemas = DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile");
    let examples = dsp_examples(&spec);
    assert_eq!(
        examples.len(),
        EXPECTED_EXAMPLES,
        "the bundle's examples changed: {:#?}",
        examples
            .iter()
            .map(|(path, _)| name(path))
            .collect::<Vec<_>>()
    );

    let mut handled: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut refused = Vec::new();
    let mut nonconformant = Vec::new();
    let mut lossy = Vec::new();
    for (path, example) in &examples {
        // Parse the file's own bytes as an endpoint would receive them.
        let bytes = std::fs::read(path).expect("example readable");
        let Some((kind, outcome)) = round_trip(example, &bytes) else {
            unknown.push(name(path));
            continue;
        };
        *handled.entry(kind).or_default() += 1;
        let written = match outcome {
            Ok(written) => written,
            Err(error) => {
                refused.push(format!("{} ({kind}): {error}", name(path)));
                continue;
            }
        };
        if let Err(errors) = schemas.validate_message(&written) {
            nonconformant.push(format!(
                "{} ({kind}) after the round trip:\n    {}\n    written: {written}",
                name(path),
                errors.join("\n    ")
            ));
        }
        if without_empty_arrays(&written) != without_empty_arrays(example) {
            lossy.push(format!(
                "{} ({kind}):\n    read:    {example}\n    written: {written}",
                name(path)
            ));
        }
    }

    assert!(unknown.is_empty(), "examples of no known kind: {unknown:?}");
    assert!(
        refused.is_empty(),
        "official examples the wire types refuse:\n  {}",
        refused.join("\n  ")
    );
    assert!(
        nonconformant.is_empty(),
        "round trips that no longer validate:\n  {}",
        nonconformant.join("\n  ")
    );
    assert!(
        lossy.is_empty(),
        "round trips that change what the document says:\n  {}",
        lossy.join("\n  ")
    );
    let expected: BTreeMap<&str, usize> = EXPECTED_KINDS.into_iter().collect();
    assert_eq!(handled, expected, "examples handled per kind");
    assert_eq!(handled.values().sum::<usize>(), EXPECTED_EXAMPLES);
}

#[test]
fn every_message_type_with_a_schema_is_covered_by_an_example() {
    // The dispatcher above knows every @type the schemas know; a new type in the testkit's
    // table without an example or a wire type shows up here.
    let covered: Vec<&str> = EXPECTED_KINDS.iter().map(|(kind, _)| *kind).collect();
    for message_type in DspSchemas::message_types() {
        assert!(
            covered.contains(&message_type),
            "{message_type} has a schema but no example is checked against a wire type"
        );
    }
}
