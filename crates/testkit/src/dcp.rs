//! DCP 1.0 JSON Schema validation against the official schemas of the spec bundle.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use jsonschema::Validator;
use serde_json::{Value, json};

use crate::dsp::{BundleRetriever, json_files, read_json, strip_fragment, validation_errors};

/// Folder of the DCP 1.0.1 artefacts inside the spec bundle.
const DCP_DIR: &str = "dcp-1.0.1";

/// The URI prefix under which the schemas refer to each other (`$ref`):
/// `PREFIX` + `common/context-schema.json` etc.
const URI_PREFIX: &str = "https://w3id.org/dspace-dcp/v1.0/";

/// The folders that hold `*-schema.json` files.
const SCHEMA_FOLDERS: [&str; 3] = ["common", "presentation", "issuance"];

/// The folders that hold an `example/` folder of messages.
const EXAMPLE_FOLDERS: [&str; 2] = ["presentation", "issuance"];

/// DIF Presentation Exchange schemas the DCP schemas `$ref` but the bundle does not contain.
/// They are served as permissive stand-ins (any object), so that a presentation definition or
/// submission is only checked for being an object. Keys are URIs without fragment.
const PRESENTATION_EXCHANGE_STANDINS: [&str; 2] = [
    "https://identity.foundation/presentation-exchange/schemas/presentation-definition.json",
    "https://identity.foundation/presentation-exchange/schemas/presentation-submission.json",
];

/// Every DCP message `type` and the schema (relative to `dcp-1.0.1`) that describes it.
const TYPE_SCHEMAS: [(&str, &str); 8] = [
    (
        "PresentationQueryMessage",
        "presentation/presentation-query-message-schema.json",
    ),
    (
        "PresentationResponseMessage",
        "presentation/presentation-response-message-schema.json",
    ),
    (
        "CredentialRequestMessage",
        "issuance/credential-request-message-schema.json",
    ),
    (
        "CredentialMessage",
        "issuance/credential-message-schema.json",
    ),
    (
        "CredentialOfferMessage",
        "issuance/credential-offer-message-schema.json",
    ),
    ("CredentialStatus", "issuance/credential-status-schema.json"),
    ("IssuerMetadata", "issuance/issuer-metadata-schema.json"),
    ("CredentialObject", "issuance/credential-object-schema.json"),
];

/// The official DCP 1.0.1 JSON Schemas, compiled once.
///
/// Every `*-schema.json` of `dcp-1.0.1/{common,presentation,issuance}` is compiled into its
/// own validator. Cross-file `$ref`s (`https://w3id.org/dspace-dcp/v1.0/...`) are resolved
/// from the bundle by a local retriever. Two defects of the bundle are absorbed in memory:
/// the context schema declares `$id` `.../v08/common/context-schema.json` while the others
/// refer to `.../v1.0/common/context-schema.json` (each schema is registered under its
/// location *and* its `$id`), and the DIF Presentation Exchange schemas they refer to are not
/// part of the bundle (served as "any object").
pub struct DcpSchemas {
    /// Keyed by the path relative to `dcp-1.0.1`, e.g.
    /// `presentation/presentation-query-message-schema.json`.
    validators: BTreeMap<String, Validator>,
}

impl std::fmt::Debug for DcpSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DcpSchemas")
            .field("schemas", &self.validators.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DcpSchemas {
    /// Reads and compiles every DCP 1.0.1 schema of the bundle at `spec_dir` (the folder
    /// [`crate::spec_dir`] returns).
    pub fn load(spec_dir: &Path) -> anyhow::Result<DcpSchemas> {
        let dcp = spec_dir.join(DCP_DIR);
        if !dcp.is_dir() {
            bail!("{} is not a directory", dcp.display());
        }

        let mut documents: BTreeMap<String, Value> = BTreeMap::new();
        for folder in SCHEMA_FOLDERS {
            for path in json_files(&dcp.join(folder))? {
                let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if file_name.ends_with("-schema.json") {
                    documents.insert(format!("{folder}/{file_name}"), read_json(&path)?);
                }
            }
        }
        if documents.is_empty() {
            bail!("no *-schema.json files under {}", dcp.display());
        }

        let mut by_uri: HashMap<String, Value> = HashMap::new();
        for (name, document) in &documents {
            by_uri.insert(format!("{URI_PREFIX}{name}"), document.clone());
            if let Some(id) = document.get("$id").and_then(Value::as_str) {
                by_uri.insert(strip_fragment(id).to_owned(), document.clone());
            }
        }
        for uri in PRESENTATION_EXCHANGE_STANDINS {
            by_uri.insert(
                uri.to_owned(),
                json!({
                    "type": "object",
                    "properties": {"presentation_submission": {"type": "object"}}
                }),
            );
        }
        let retriever = BundleRetriever {
            documents: Arc::new(by_uri),
            bundle: "DCP 1.0.1",
        };

        let mut validators = BTreeMap::new();
        for (name, document) in &documents {
            let validator = jsonschema::options()
                .with_retriever(retriever.clone())
                .build(document)
                .map_err(|e| anyhow::anyhow!("compiling {DCP_DIR}/{name}: {e}"))?;
            validators.insert(name.clone(), validator);
        }
        Ok(DcpSchemas { validators })
    }

    /// The names of the compiled schemas, relative to `dcp-1.0.1`, sorted.
    pub fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// The schema (relative to `dcp-1.0.1`) for a DCP message `type`, e.g.
    /// `PresentationQueryMessage` -> `presentation/presentation-query-message-schema.json`.
    pub fn schema_for_type(message_type: &str) -> Option<&'static str> {
        TYPE_SCHEMAS
            .iter()
            .find(|(t, _)| *t == message_type)
            .map(|(_, schema)| *schema)
    }

    /// Validate against the schema file named relative to `dcp-1.0.1`. Errors read as those
    /// of [`crate::DspSchemas::validate`].
    pub fn validate(&self, schema: &str, instance: &Value) -> Result<(), Vec<String>> {
        let Some(validator) = self.validators.get(schema) else {
            let known = self.schema_names().collect::<Vec<_>>().join(", ");
            return Err(vec![format!(
                "(root): unknown schema {schema:?} (known: {known})"
            )]);
        };
        let errors = validation_errors(validator, schema, instance);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Pick the schema from the instance's `type` and validate.
    pub fn validate_message(&self, instance: &Value) -> Result<(), Vec<String>> {
        let message_type = match instance.get("type") {
            Some(Value::String(t)) => t,
            Some(other) => return Err(vec![format!("/type: must be a string, found {other}")]),
            None => return Err(vec!["(root): no \"type\"".to_owned()]),
        };
        let schema = Self::schema_for_type(message_type).ok_or_else(|| {
            vec![format!(
                "/type: unknown DCP 1.0 message type {message_type:?}"
            )]
        })?;
        self.validate(schema, instance)
    }
}

/// Every official example message: `(path, parsed JSON)`, sorted by path, from
/// `dcp-1.0.1/{presentation,issuance}/example/*.json`.
///
/// Panics (with the file named) when a file cannot be read or parsed.
pub fn dcp_examples(spec_dir: &Path) -> Vec<(PathBuf, Value)> {
    let dcp = spec_dir.join(DCP_DIR);
    let mut examples = Vec::new();
    for folder in EXAMPLE_FOLDERS {
        let dir = dcp.join(folder).join("example");
        if !dir.is_dir() {
            continue;
        }
        for path in json_files(&dir).unwrap_or_else(|e| panic!("{e:#}")) {
            let value = read_json(&path).unwrap_or_else(|e| panic!("{e:#}"));
            examples.push((path, value));
        }
    }
    examples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_maps_to_a_distinct_schema() {
        let mut schemas: Vec<&str> = TYPE_SCHEMAS.iter().map(|(_, s)| *s).collect();
        schemas.sort_unstable();
        schemas.dedup();
        assert_eq!(schemas.len(), TYPE_SCHEMAS.len());
    }
}
