//! The official DCP 1.0.1 examples validate; deliberately broken messages do not.

use serde_json::json;
use tsunagu_testkit::{DcpSchemas, dcp_examples, require_spec};

#[test]
fn every_official_example_validates() {
    let Some(spec) = require_spec() else { return };
    let schemas = DcpSchemas::load(&spec).expect("DCP 1.0.1 schemas compile");
    let examples = dcp_examples(&spec);
    // 4 presentation + 7 issuance examples.
    assert_eq!(examples.len(), 11, "{examples:#?}");
    let mut failures = Vec::new();
    for (path, example) in &examples {
        if let Err(errors) = schemas.validate_message(example) {
            failures.push(format!("{}:\n  {}", path.display(), errors.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn broken_presentation_messages_are_rejected() {
    let Some(spec) = require_spec() else { return };
    let schemas = DcpSchemas::load(&spec).expect("DCP 1.0.1 schemas compile");
    let context = json!(["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"]);
    let cases = [
        // Neither scope nor presentationDefinition.
        json!({"@context": context, "type": "PresentationQueryMessage"}),
        // Empty scope.
        json!({"@context": context, "type": "PresentationQueryMessage", "scope": []}),
        // Context without the DCP context.
        json!({"@context": ["https://example.com"], "type": "PresentationQueryMessage", "scope": ["a"]}),
        // Response without presentations.
        json!({"@context": context, "type": "PresentationResponseMessage"}),
        // Presentations that are neither strings nor objects.
        json!({"@context": context, "type": "PresentationResponseMessage", "presentation": [1]}),
    ];
    for case in cases {
        assert!(
            schemas.validate_message(&case).is_err(),
            "should be rejected: {case}"
        );
    }
}
