//! Conformance with the DCP 1.0.1 bundle: every official presentation example parses into our
//! wire types (and serialises back unchanged), and every message we build validates against
//! its official schema.

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::Value;
use tsunagu_testkit::{DcpSchemas, dcp_examples, require_spec};
use tsunagu_trust::dcp::{PresentationQueryMessage, PresentationResponseMessage, Scope};
use tsunagu_trust::keys::KeyPair;
use tsunagu_trust::vp::{PresentationTarget, make_vp_jwt};

#[test]
fn every_presentation_example_parses_into_the_wire_types() {
    let Some(spec) = require_spec() else { return };
    let examples: Vec<(std::path::PathBuf, Value)> = dcp_examples(&spec)
        .into_iter()
        .filter(|(path, _)| path.to_string_lossy().contains("/presentation/"))
        .collect();
    assert_eq!(examples.len(), 4, "{examples:#?}");
    for (path, example) in examples {
        let reserialised = match example["type"].as_str() {
            Some(PresentationQueryMessage::TYPE) => {
                let message: PresentationQueryMessage = serde_json::from_value(example.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                message
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                serde_json::to_value(&message).unwrap()
            }
            Some(PresentationResponseMessage::TYPE) => {
                let message: PresentationResponseMessage = serde_json::from_value(example.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                message
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                serde_json::to_value(&message).unwrap()
            }
            other => panic!("{}: unexpected type {other:?}", path.display()),
        };
        assert_eq!(reserialised, example, "{}", path.display());
    }
}

#[test]
fn messages_we_build_validate_against_their_schemas() {
    let Some(spec) = require_spec() else { return };
    let schemas = DcpSchemas::load(&spec).expect("DCP 1.0.1 schemas compile");
    let query = PresentationQueryMessage::for_scopes(&[
        Scope::CredentialType("MembershipCredential".to_owned()),
        Scope::CredentialType("BatteryChainRoleCredential".to_owned()),
    ]);
    let presentation = make_vp_jwt(
        "did:web:cell.example",
        &KeyPair::from_secret_bytes(&[1; 32]),
        &[],
        &PresentationTarget {
            audience: "did:web:pack.example",
            nonce: None,
            lifetime: chrono::Duration::minutes(5),
        },
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        &mut StdRng::seed_from_u64(1),
    );
    let response = PresentationResponseMessage::new(vec![presentation]);
    let empty_response = PresentationResponseMessage::new(Vec::new());
    for (schema, message) in [
        (
            "presentation/presentation-query-message-schema.json",
            serde_json::to_value(&query).unwrap(),
        ),
        (
            "presentation/presentation-response-message-schema.json",
            serde_json::to_value(&response).unwrap(),
        ),
        (
            "presentation/presentation-response-message-schema.json",
            serde_json::to_value(&empty_response).unwrap(),
        ),
    ] {
        if let Err(errors) = schemas.validate(schema, &message) {
            panic!(
                "{message} does not validate against {schema}:\n{}",
                errors.join("\n")
            );
        }
        assert_eq!(schemas.validate_message(&message), Ok(()));
    }
}
