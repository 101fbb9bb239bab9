use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{dsp_message, reasons};

dsp_message! {
    /// Asks a provider for its catalog. `filter` is implementation-specific; tsunagu documents
    /// the filters it understands and answers 400 to any other.
    pub struct CatalogRequestMessage {
        #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "reasons::deserialize")]
        pub filter: Vec<Value>,
    }
}

dsp_message! {
    /// The message form of `GET /catalog/datasets/:id` (the HTTPS binding carries the id in the
    /// path, so this type is only used to parse the official example).
    pub struct DatasetRequestMessage {
        pub dataset: String,
    }
}

dsp_message! {
    pub struct CatalogError {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, deserialize_with = "reasons::deserialize", skip_serializing_if = "Vec::is_empty")]
        pub reason: Vec<Value>,
    }
}

impl CatalogError {
    pub fn new(code: &str, reason: String) -> Self {
        CatalogError {
            context: crate::context(),
            kind: Self::TYPE.to_owned(),
            code: Some(code.to_owned()),
            reason: vec![Value::String(reason)],
        }
    }
}

/// A DCAT catalog. The root catalog of a response carries `@context` and `participantId`; nested
/// catalogs do not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<String>>,
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<DataService>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset: Vec<Dataset>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalog: Vec<Catalog>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distribution: Vec<Distribution>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_policy: Vec<Value>,
    /// DCAT and Dublin Core properties tsunagu does not interpret, kept as they came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataService {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type")]
    pub kind: String,
    #[serde(
        rename = "endpointURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_url: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// A DCAT dataset with its ODRL offers. As the answer to `GET /catalog/datasets/:id` it carries
/// `@context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<String>>,
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type")]
    pub kind: String,
    pub has_policy: Vec<Value>,
    pub distribution: Vec<Distribution>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    #[serde(rename = "@type")]
    pub kind: String,
    pub format: String,
    /// A reference (`"urn:..."`) or an inline `DataService` object.
    pub access_service: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_policy: Vec<Value>,
}

/// The body of `GET /.well-known/dspace-version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionResponse {
    pub protocol_versions: Vec<ProtocolVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolVersion {
    pub version: String,
    pub path: String,
    pub binding: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Value>,
}
