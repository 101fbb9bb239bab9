//! The official DSP 2025-1 examples validate; deliberately broken messages do not.

use serde_json::{Value, json};
use tsunagu_testkit::{DspSchemas, dsp_examples, require_spec};

const CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

fn schemas() -> Option<DspSchemas> {
    let spec = require_spec()?;
    Some(DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile"))
}

/// Expects rejection with at least one error at `pointer` mentioning `needle`.
fn assert_rejected(result: Result<(), Vec<String>>, pointer: &str, needle: &str) {
    let errors = result.expect_err("a broken message must be rejected");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{pointer}: ")) && e.contains(needle)),
        "no error at {pointer} mentioning {needle:?} in {errors:#?}"
    );
}

fn contract_request() -> Value {
    json!({
        "@context": [CONTEXT],
        "@type": "ContractRequestMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "offer": {
            "@type": "Offer",
            "@id": "urn:uuid:d526561f-528e-4d5a-ae12-9a9dd9b7a815",
            "target": "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88",
            "permission": [{"action": "use"}]
        }
    })
}

#[test]
fn every_official_example_validates() {
    let Some(spec) = require_spec() else { return };
    let schemas = DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile");
    let examples = dsp_examples(&spec);
    // 6 catalog + 11 negotiation + 7 transfer + 1 version document; no DID-service fragments.
    assert_eq!(examples.len(), 25, "{examples:#?}");
    assert!(
        !examples
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("did-service")),
        "DID-service fragments must be excluded"
    );
    // No official example is a documented exception: all of them validate.
    let mut failures = Vec::new();
    for (path, example) in &examples {
        if let Err(errors) = schemas.validate_message(example) {
            failures.push(format!("{}:\n  {}", path.display(), errors.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_message_type_has_a_compiled_schema() {
    let Some(schemas) = schemas() else { return };
    let names: Vec<&str> = schemas.schema_names().collect();
    for message_type in DspSchemas::message_types() {
        let schema = DspSchemas::schema_for_type(message_type).expect("mapped");
        assert!(
            names.contains(&schema),
            "{message_type} -> {schema} missing"
        );
    }
    assert!(names.contains(&"common/protocol-version-schema.json"));
}

#[test]
fn a_valid_message_passes_both_entry_points() {
    let Some(schemas) = schemas() else { return };
    let message = contract_request();
    schemas.validate_message(&message).expect("valid");
    schemas
        .validate("negotiation/contract-request-message-schema.json", &message)
        .expect("valid");
}

#[test]
fn missing_consumer_pid_is_rejected() {
    let Some(schemas) = schemas() else { return };
    let mut message = contract_request();
    message.as_object_mut().unwrap().remove("consumerPid");
    assert_rejected(schemas.validate_message(&message), "(root)", "consumerPid");
}

#[test]
fn wrong_type_is_rejected() {
    let Some(schemas) = schemas() else { return };
    let mut message = contract_request();
    message["@type"] = json!("ContractOfferMessage");
    assert_rejected(
        schemas.validate("negotiation/contract-request-message-schema.json", &message),
        "/@type",
        "ContractRequestMessage",
    );
    message["@type"] = json!("ContractRequest");
    assert_rejected(schemas.validate_message(&message), "/@type", "unknown");
    message["@type"] = json!(42);
    assert_rejected(schemas.validate_message(&message), "/@type", "string");
    message.as_object_mut().unwrap().remove("@type");
    assert_rejected(schemas.validate_message(&message), "(root)", "@type");
}

#[test]
fn wrong_state_enum_is_rejected() {
    let Some(schemas) = schemas() else { return };
    let transfer = json!({
        "@context": [CONTEXT],
        "@type": "TransferProcess",
        "providerPid": "urn:uuid:a",
        "consumerPid": "urn:uuid:b",
        "state": "FINISHED"
    });
    assert_rejected(schemas.validate_message(&transfer), "/state", "FINISHED");
    let negotiation = json!({
        "@context": [CONTEXT],
        "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:a",
        "consumerPid": "urn:uuid:b",
        "state": "dspace:AGREED"
    });
    assert_rejected(schemas.validate_message(&negotiation), "/state", "AGREED");
}

#[test]
fn cross_file_refs_with_the_bundle_defect_are_enforced() {
    // transfer-suspension-message-schema.json reaches the `reason`/`code`
    // rules only through `transfer-schema.json#definitions/...` (normalised).
    let Some(schemas) = schemas() else { return };
    let suspension = json!({
        "@context": [CONTEXT],
        "@type": "TransferSuspensionMessage",
        "providerPid": "urn:uuid:a",
        "consumerPid": "urn:uuid:b",
        "code": 7,
        "reason": []
    });
    let errors = schemas.validate_message(&suspension).expect_err("rejected");
    assert!(
        errors.iter().any(|e| e.starts_with("/code: ")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("/reason: ")),
        "{errors:#?}"
    );
}

#[test]
fn context_without_the_dsp_context_is_rejected() {
    let Some(schemas) = schemas() else { return };
    let mut message = contract_request();
    message["@context"] = json!(["https://www.w3.org/ns/odrl.jsonld"]);
    assert_rejected(schemas.validate_message(&message), "/@context", "");
}

#[test]
fn version_document_is_recognised_without_type() {
    let Some(schemas) = schemas() else { return };
    let good = json!({"protocolVersions": [
        {"version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS"}
    ]});
    schemas
        .validate_message(&good)
        .expect("valid version document");
    let bad = json!({"protocolVersions": [
        {"version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTP"}
    ]});
    assert_rejected(
        schemas.validate_message(&bad),
        "/protocolVersions/0/binding",
        "HTTP",
    );
}

#[test]
fn non_objects_and_unknown_schemas_are_rejected() {
    let Some(schemas) = schemas() else { return };
    assert_rejected(schemas.validate_message(&json!([1])), "(root)", "object");
    assert_rejected(
        schemas.validate("negotiation/no-such-schema.json", &json!({})),
        "(root)",
        "unknown schema",
    );
}
