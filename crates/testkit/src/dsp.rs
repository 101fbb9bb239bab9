//! DSP 2025-1 JSON Schema validation against the official schemas of the spec bundle.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

/// Folder of the DSP 2025-1 artefacts inside the spec bundle.
const DSP_DIR: &str = "dsp-2025-1";

/// The URI prefix under which the schemas publish themselves (`$id`) and refer
/// to each other (`$ref`): `PREFIX` + `catalog/catalog-schema.json` etc.
const URI_PREFIX: &str = "https://w3id.org/dspace/2025/1/";

/// The folders that hold `*-schema.json` files and an `example/` folder.
const SCHEMA_FOLDERS: [&str; 4] = ["catalog", "negotiation", "transfer", "common"];

/// The schema of the protocol version document (which has no `@type`).
const VERSION_SCHEMA: &str = "common/protocol-version-schema.json";

/// Every `@type` of the catalog, negotiation and transfer protocols and the
/// schema (relative to `dsp-2025-1`) that describes it.
const TYPE_SCHEMAS: [(&str, &str); 20] = [
    // Catalog protocol
    (
        "CatalogRequestMessage",
        "catalog/catalog-request-message-schema.json",
    ),
    (
        "DatasetRequestMessage",
        "catalog/dataset-request-message-schema.json",
    ),
    ("Catalog", "catalog/catalog-schema.json"),
    ("Dataset", "catalog/dataset-schema.json"),
    ("CatalogError", "catalog/catalog-error-schema.json"),
    // Contract negotiation protocol
    (
        "ContractRequestMessage",
        "negotiation/contract-request-message-schema.json",
    ),
    (
        "ContractOfferMessage",
        "negotiation/contract-offer-message-schema.json",
    ),
    (
        "ContractAgreementMessage",
        "negotiation/contract-agreement-message-schema.json",
    ),
    (
        "ContractAgreementVerificationMessage",
        "negotiation/contract-agreement-verification-message-schema.json",
    ),
    (
        "ContractNegotiationEventMessage",
        "negotiation/contract-negotiation-event-message-schema.json",
    ),
    (
        "ContractNegotiationTerminationMessage",
        "negotiation/contract-negotiation-termination-message-schema.json",
    ),
    (
        "ContractNegotiation",
        "negotiation/contract-negotiation-schema.json",
    ),
    (
        "ContractNegotiationError",
        "negotiation/contract-negotiation-error-schema.json",
    ),
    // Transfer process protocol
    (
        "TransferRequestMessage",
        "transfer/transfer-request-message-schema.json",
    ),
    (
        "TransferStartMessage",
        "transfer/transfer-start-message-schema.json",
    ),
    (
        "TransferSuspensionMessage",
        "transfer/transfer-suspension-message-schema.json",
    ),
    (
        "TransferCompletionMessage",
        "transfer/transfer-completion-message-schema.json",
    ),
    (
        "TransferTerminationMessage",
        "transfer/transfer-termination-message-schema.json",
    ),
    ("TransferProcess", "transfer/transfer-process-schema.json"),
    ("TransferError", "transfer/transfer-error-schema.json"),
];

/// Longest error message kept (instances quoted in messages can be large).
const MAX_MESSAGE_CHARS: usize = 400;

/// The official DSP 2025-1 JSON Schemas, compiled once.
///
/// Every `*-schema.json` of `dsp-2025-1/{catalog,negotiation,transfer,common}`
/// is compiled into its own validator. Cross-file `$ref`s
/// (`https://w3id.org/dspace/2025/1/...`) are resolved from the bundle by a
/// local retriever; any other remote reference is an error (no network).
/// The bundle's known defect, `$ref`s of the form `...#definitions/X`, is
/// normalised to `...#/definitions/X` in memory (the files are not touched).
pub struct DspSchemas {
    /// Keyed by the path relative to `dsp-2025-1`, e.g.
    /// `negotiation/contract-request-message-schema.json`.
    validators: BTreeMap<String, Validator>,
}

impl std::fmt::Debug for DspSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DspSchemas")
            .field("schemas", &self.validators.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DspSchemas {
    /// Reads and compiles every DSP 2025-1 schema of the bundle at `spec_dir`
    /// (the folder [`crate::spec_dir`] returns).
    pub fn load(spec_dir: &Path) -> anyhow::Result<DspSchemas> {
        let dsp = spec_dir.join(DSP_DIR);
        if !dsp.is_dir() {
            bail!("{} is not a directory", dsp.display());
        }

        // name relative to dsp-2025-1 -> normalised schema document
        let mut documents: BTreeMap<String, Value> = BTreeMap::new();
        for folder in SCHEMA_FOLDERS {
            for path in json_files(&dsp.join(folder))? {
                let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !file_name.ends_with("-schema.json") {
                    continue;
                }
                let mut document = read_json(&path)?;
                normalise_refs(&mut document);
                documents.insert(format!("{folder}/{file_name}"), document);
            }
        }
        if documents.is_empty() {
            bail!("no *-schema.json files under {}", dsp.display());
        }

        // Absolute URI (without fragment) -> document, for the retriever. Each
        // schema is reachable under the URI its location implies and under its
        // declared `$id` (they agree in 2025-1, but do not rely on it).
        let mut by_uri: HashMap<String, Value> = HashMap::new();
        for (name, document) in &documents {
            by_uri.insert(format!("{URI_PREFIX}{name}"), document.clone());
            if let Some(id) = document.get("$id").and_then(Value::as_str) {
                by_uri.insert(strip_fragment(id).to_owned(), document.clone());
            }
        }
        let retriever = BundleRetriever {
            documents: Arc::new(by_uri),
            bundle: "DSP 2025-1",
        };

        let mut validators = BTreeMap::new();
        for (name, document) in &documents {
            let validator = jsonschema::options()
                .with_retriever(retriever.clone())
                .build(document)
                .map_err(|e| anyhow::anyhow!("compiling {DSP_DIR}/{name}: {e}"))?;
            validators.insert(name.clone(), validator);
        }
        Ok(DspSchemas { validators })
    }

    /// The names of the compiled schemas, relative to `dsp-2025-1`
    /// (e.g. `transfer/transfer-process-schema.json`), sorted.
    pub fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// The schema (relative to `dsp-2025-1`) for a DSP `@type`, e.g.
    /// `ContractRequestMessage` -> `negotiation/contract-request-message-schema.json`.
    pub fn schema_for_type(message_type: &str) -> Option<&'static str> {
        TYPE_SCHEMAS
            .iter()
            .find(|(t, _)| *t == message_type)
            .map(|(_, schema)| *schema)
    }

    /// Every DSP `@type` known to [`DspSchemas::validate_message`].
    pub fn message_types() -> impl Iterator<Item = &'static str> {
        TYPE_SCHEMAS.iter().map(|(t, _)| *t)
    }

    /// Validate against the schema file named relative to `dsp-2025-1`, e.g.
    /// `"negotiation/contract-request-message-schema.json"`.
    ///
    /// Each error reads `<JSON pointer of the instance location>: <what is wrong>
    /// (schema: <JSON pointer of the failing keyword>)`; the root is shown as `(root)`.
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

    /// Pick the schema from the instance's `@type` (every message and object
    /// type of the catalog, negotiation and transfer protocols, including the
    /// `*Error` types; see [`DspSchemas::message_types`]) and validate.
    ///
    /// An instance without `@type` that has `protocolVersions` is the version
    /// document and is validated against `common/protocol-version-schema.json`.
    /// `@type` may also be an array holding exactly one known type.
    pub fn validate_message(&self, instance: &Value) -> Result<(), Vec<String>> {
        let Some(object) = instance.as_object() else {
            return Err(vec![
                "(root): a DSP message must be a JSON object".to_owned(),
            ]);
        };
        let schema = match object.get("@type") {
            None if object.contains_key("protocolVersions") => VERSION_SCHEMA,
            None => {
                return Err(vec![
                    "(root): no \"@type\" (and no \"protocolVersions\": not a version document)"
                        .to_owned(),
                ]);
            }
            Some(Value::String(t)) => Self::schema_for_type(t)
                .ok_or_else(|| vec![format!("/@type: unknown DSP 2025-1 message type {t:?}")])?,
            Some(Value::Array(types)) => {
                let known: Vec<&'static str> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(Self::schema_for_type)
                    .collect();
                match known.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(vec![format!(
                            "/@type: no known DSP 2025-1 message type in {}",
                            Value::Array(types.clone())
                        )]);
                    }
                    _ => {
                        return Err(vec![format!(
                            "/@type: more than one DSP 2025-1 message type in {}",
                            Value::Array(types.clone())
                        )]);
                    }
                }
            }
            Some(other) => {
                return Err(vec![format!("/@type: must be a string, found {other}")]);
            }
        };
        self.validate(schema, instance)
    }
}

/// Every official example message: `(path, parsed JSON)`, sorted by path,
/// from `dsp-2025-1/{catalog,negotiation,transfer,common}/example/*.json`,
/// excluding the DID-service examples in `common/example` (they are DID
/// document fragments, not DSP messages).
///
/// Panics (with the file named) when a file cannot be read or parsed: the
/// bundle is a fixed artefact and a broken copy should fail loudly.
pub fn dsp_examples(spec_dir: &Path) -> Vec<(PathBuf, Value)> {
    let dsp = spec_dir.join(DSP_DIR);
    let mut examples = Vec::new();
    for folder in SCHEMA_FOLDERS {
        let dir = dsp.join(folder).join("example");
        if !dir.is_dir() {
            continue;
        }
        let files = json_files(&dir).unwrap_or_else(|e| panic!("{e:#}"));
        for path in files {
            let is_did_service = folder == "common"
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains("did-service"));
            if is_did_service {
                continue;
            }
            let value = read_json(&path).unwrap_or_else(|e| panic!("{e:#}"));
            examples.push((path, value));
        }
    }
    examples
}

/// Serves a bundle's schemas by absolute URI (without fragment) and refuses
/// everything else.
#[derive(Clone)]
pub(crate) struct BundleRetriever {
    pub(crate) documents: Arc<HashMap<String, Value>>,
    /// Named in the error for an unknown URI, e.g. `DSP 2025-1`.
    pub(crate) bundle: &'static str,
}

impl Retrieve for BundleRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = strip_fragment(uri.as_str());
        match self.documents.get(key) {
            Some(document) => Ok(document.clone()),
            None => Err(format!(
                "{key} is not a schema of the local {} bundle (network access is disabled in tests)",
                self.bundle
            )
            .into()),
        }
    }
}

pub(crate) fn strip_fragment(uri: &str) -> &str {
    uri.split_once('#').map_or(uri, |(base, _)| base)
}

/// Rewrites `$ref`s whose fragment is a JSON pointer missing its leading `/`
/// (`...#definitions/X`, a known defect of the 2025-1 schemas) to
/// `...#/definitions/X`. Plain-name fragments (anchors) are left alone.
fn normalise_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref" {
                    if let Value::String(reference) = child {
                        if let Some((base, fragment)) = reference.split_once('#') {
                            if fragment.contains('/') && !fragment.starts_with('/') {
                                *reference = format!("{base}#/{fragment}");
                            }
                        }
                    }
                } else {
                    normalise_refs(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_refs),
        _ => {}
    }
}

/// Every error of `validator` on `instance`, one line each:
/// `<JSON pointer of the instance location>: <what is wrong> (schema: <schema>#<JSON pointer
/// of the failing keyword>)`, the root shown as `(root)`.
pub(crate) fn validation_errors(
    validator: &Validator,
    schema: &str,
    instance: &Value,
) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| {
            let pointer = error.instance_path.as_str();
            let mut message = error.to_string();
            if message.chars().count() > MAX_MESSAGE_CHARS {
                message = message.chars().take(MAX_MESSAGE_CHARS).collect();
                message.push_str("...");
            }
            let mut line = String::new();
            let _ = write!(
                line,
                "{}: {message} (schema: {schema}#{})",
                if pointer.is_empty() {
                    "(root)"
                } else {
                    pointer
                },
                error.schema_path.as_str()
            );
            line
        })
        .collect()
}

/// The `*.json` files directly in `dir`, sorted.
pub(crate) fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_pointer_fragments_only() {
        let mut schema = json!({
            "allOf": [
                {"$ref": "https://w3id.org/dspace/2025/1/transfer/transfer-schema.json#definitions/A"},
                {"$ref": "#/definitions/B"},
                {"$ref": "#anchor"},
                {"$ref": "https://w3id.org/dspace/2025/1/common/context-schema.json"}
            ]
        });
        normalise_refs(&mut schema);
        assert_eq!(
            schema,
            json!({
                "allOf": [
                    {"$ref": "https://w3id.org/dspace/2025/1/transfer/transfer-schema.json#/definitions/A"},
                    {"$ref": "#/definitions/B"},
                    {"$ref": "#anchor"},
                    {"$ref": "https://w3id.org/dspace/2025/1/common/context-schema.json"}
                ]
            })
        );
    }

    #[test]
    fn every_type_maps_to_a_distinct_schema() {
        let mut schemas: Vec<&str> = TYPE_SCHEMAS.iter().map(|(_, s)| *s).collect();
        schemas.sort_unstable();
        schemas.dedup();
        assert_eq!(schemas.len(), TYPE_SCHEMAS.len());
    }
}
