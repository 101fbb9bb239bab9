//! Reading EDC-style JSON-LD request bodies and writing EDC's compact answers.
//!
//! EDC clients send compact keys under `{"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}`, keys
//! prefixed `edc:`, full IRIs, or fully expanded documents in which every value is a
//! one-element array of `{"@value": ...}`. Instead of a JSON-LD processor (which would need the
//! contexts, and so IO), `EdcObject` looks every field up under each of those spellings and
//! unwraps the value forms; that covers what EDC and Tractus-X clients actually send. ODRL
//! policies are handed to the engine untouched, because the policy crate reads their spellings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value, json};

use super::error::ManagementError;

/// The EDC management vocabulary.
pub(crate) const EDC_NAMESPACE: &str = "https://w3id.org/edc/v0.0.1/ns/";
const ODRL_NAMESPACE: &str = "http://www.w3.org/ns/odrl/2/";
/// The context EDC examples embed in policies; answers embed it too, so that the compact ODRL
/// keys of a policy do not fall under the EDC `@vocab` of the surrounding document.
pub(crate) const ODRL_CONTEXT: &str = "http://www.w3.org/ns/odrl.jsonld";

/// The `@context` of every answer, as EDC writes it.
pub(crate) fn answer_context() -> Value {
    json!({
        "@vocab": EDC_NAMESPACE,
        "edc": EDC_NAMESPACE,
        "odrl": ODRL_NAMESPACE,
    })
}

/// EDC's answer to a creation.
pub(crate) fn id_response(id: &str, created_at_ms: i64) -> Value {
    json!({
        "@context": answer_context(),
        "@type": "IdResponse",
        "@id": id,
        "createdAt": created_at_ms,
    })
}

/// A stored ODRL policy as answers show it: with the ODRL context embedded.
pub(crate) fn policy_view(policy: &Value) -> Value {
    let mut policy = policy.clone();
    if let Some(object) = policy.as_object_mut() {
        object.insert("@context".into(), Value::from(ODRL_CONTEXT));
    }
    policy
}

/// The compact name of an EDC key: `edc:name` and `https://w3id.org/edc/v0.0.1/ns/name` are
/// both `name`; other keys are left alone.
pub(crate) fn compact_key(key: &str) -> &str {
    key.strip_prefix("edc:")
        .or_else(|| key.strip_prefix(EDC_NAMESPACE))
        .unwrap_or(key)
}

/// Unwraps the forms expanded JSON-LD gives a single value: a one-element array, and a value
/// object `{"@value": x}` (with an optional `@type` or `@language`).
fn unwrap_single(mut value: &Value) -> &Value {
    loop {
        match value {
            Value::Array(items) if items.len() == 1 => value = &items[0],
            Value::Object(object)
                if object.contains_key("@value")
                    && object
                        .keys()
                        .all(|key| matches!(key.as_str(), "@value" | "@type" | "@language")) =>
            {
                value = &object["@value"]
            }
            _ => return value,
        }
    }
}

/// A free-form value (an asset property) in compact form: EDC keys compacted at every level,
/// value objects and one-element arrays unwrapped. Node references `{"@id": ...}` stay, since
/// they mean something different from a string (Tractus-X writes `"dct:type": {"@id": ...}`).
pub(crate) fn compact_value(value: &Value) -> Value {
    match unwrap_single(value) {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| key.as_str() != "@context")
                .map(|(key, value)| (compact_key(key).to_owned(), compact_value(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(compact_value).collect()),
        other => other.clone(),
    }
}

/// A JSON object of an EDC request, with the path that leads to it for error messages.
#[derive(Debug, Clone)]
pub(crate) struct EdcObject {
    object: Map<String, Value>,
    /// `""` for the body itself, `"dataAddress."` for a nested object.
    path: String,
}

impl EdcObject {
    /// The request body, which must be a JSON object (or an expanded document holding one).
    pub(crate) fn body(body: Option<Value>) -> Result<EdcObject, ManagementError> {
        let body =
            body.ok_or_else(|| ManagementError::bad_request("a JSON object body is required"))?;
        match unwrap_single(&body) {
            Value::Object(object) => Ok(EdcObject {
                object: object.clone(),
                path: String::new(),
            }),
            _ => Err(ManagementError::bad_request(
                "the body must be a JSON object",
            )),
        }
    }

    /// The body of an endpoint that also accepts none (listings, actions): an empty object then.
    pub(crate) fn optional_body(body: Option<Value>) -> Result<EdcObject, ManagementError> {
        match body {
            None | Some(Value::Null) => Ok(EdcObject {
                object: Map::new(),
                path: String::new(),
            }),
            some => Self::body(some),
        }
    }

    /// The full name of `field` for error messages, e.g. `dataAddress.baseUrl`.
    pub(crate) fn name(&self, field: &str) -> String {
        format!("{}{field}", self.path)
    }

    /// The value of `field` under any of its spellings, as sent.
    fn raw(&self, field: &str) -> Option<&Value> {
        self.object
            .get(field)
            .or_else(|| self.object.get(&format!("edc:{field}")))
            .or_else(|| self.object.get(&format!("{EDC_NAMESPACE}{field}")))
    }

    /// The value of `field` under any of its spellings, unwrapped; JSON `null` counts as absent.
    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        Some(unwrap_single(self.raw(field)?)).filter(|value| !value.is_null())
    }

    /// A field that holds a list, where a single item may stand for a list of one. `None` when
    /// absent; the items are not unwrapped.
    pub(crate) fn list(&self, field: &str) -> Option<Vec<&Value>> {
        match self.raw(field)? {
            Value::Null => None,
            Value::Array(items) => Some(items.iter().collect()),
            single => Some(vec![single]),
        }
    }

    /// Like `get`, for ODRL fields of an offer (`target`, `assigner`), which clients write
    /// compact, `odrl:`-prefixed or as ODRL IRIs.
    pub(crate) fn get_odrl(&self, field: &str) -> Option<&Value> {
        self.get(field)
            .or_else(|| self.object.get(&format!("odrl:{field}")))
            .or_else(|| self.object.get(&format!("{ODRL_NAMESPACE}{field}")))
            .map(unwrap_single)
            .filter(|value| !value.is_null())
    }

    /// A text field: a string, a value object or a node reference `{"@id": ...}`.
    pub(crate) fn string(&self, field: &str) -> Result<Option<String>, ManagementError> {
        self.get(field)
            .map(|value| {
                as_text(value).ok_or_else(|| {
                    ManagementError::bad_request(format!("{} must be a string", self.name(field)))
                })
            })
            .transpose()
    }

    pub(crate) fn required_string(&self, field: &str) -> Result<String, ManagementError> {
        self.string(field)?
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| {
                ManagementError::bad_request(format!("{} is required", self.name(field)))
            })
    }

    /// The `@id` of the object.
    pub(crate) fn id(&self) -> Result<Option<String>, ManagementError> {
        match self.object.get("@id").map(unwrap_single) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(id)) if !id.trim().is_empty() => Ok(Some(id.clone())),
            Some(_) => Err(ManagementError::bad_request(format!(
                "{} must be a non-empty string",
                self.name("@id")
            ))),
        }
    }

    /// A nested object, or `None` when absent.
    pub(crate) fn object(&self, field: &str) -> Result<Option<EdcObject>, ManagementError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(object)) => Ok(Some(EdcObject {
                object: object.clone(),
                path: format!("{}.", self.name(field)),
            })),
            Some(_) => Err(ManagementError::bad_request(format!(
                "{} must be an object",
                self.name(field)
            ))),
        }
    }

    /// A non-negative integer field.
    pub(crate) fn unsigned(&self, field: &str) -> Result<Option<u32>, ManagementError> {
        self.get(field)
            .map(|value| {
                value
                    .as_u64()
                    .and_then(|number| u32::try_from(number).ok())
                    .ok_or_else(|| {
                        ManagementError::bad_request(format!(
                            "{} must be a non-negative integer",
                            self.name(field)
                        ))
                    })
            })
            .transpose()
    }

    /// The object's fields under their compact names, for objects with open-ended keys
    /// (`dataAddress`). JSON-LD keywords are skipped.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.object
            .iter()
            .filter(|(key, _)| !key.starts_with('@'))
            .map(|(key, value)| (compact_key(key), unwrap_single(value)))
    }

    /// The object as plain JSON, for values handed on whole (an ODRL offer).
    pub(crate) fn into_json(self) -> Value {
        Value::Object(self.object)
    }
}

/// The text of a single value: a string, or the `@id` of a node reference.
pub(crate) fn as_text(value: &Value) -> Option<String> {
    match unwrap_single(value) {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) if object.len() == 1 => {
            object.get("@id").and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    }
}

/// A request body parsed as JSON, `None` when the body is empty. Unlike axum's `Json` it does
/// not insist on a `Content-Type` (scripts often omit it) and reports errors as problems.
pub(crate) struct RequestBody(pub(crate) Option<Value>);

impl<S: Send + Sync> FromRequest<S> for RequestBody {
    type Rejection = ManagementError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ManagementError::new(rejection.status(), rejection.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(RequestBody(None));
        }
        serde_json::from_slice(&bytes)
            .map(|value| RequestBody(Some(value)))
            .map_err(|error| {
                ManagementError::bad_request(format!("the body is not valid JSON: {error}"))
            })
    }
}

/// The `{id}` segment of a path, with a rejection in the API's error format.
pub(crate) struct RecordId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RecordId {
    type Rejection = ManagementError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| RecordId(id))
            .map_err(|rejection| {
                ManagementError::bad_request(format!(
                    "the id in the path: {}",
                    rejection.body_text()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> EdcObject {
        EdcObject::body(Some(value)).unwrap()
    }

    #[test]
    fn fields_are_found_under_every_spelling() {
        for document in [
            json!({"accessPolicyId": "p"}),
            json!({"@context": {"@vocab": EDC_NAMESPACE}, "accessPolicyId": "p"}),
            json!({"@context": {"edc": EDC_NAMESPACE}, "edc:accessPolicyId": "p"}),
            json!({"https://w3id.org/edc/v0.0.1/ns/accessPolicyId": [{"@value": "p"}]}),
            json!([{"https://w3id.org/edc/v0.0.1/ns/accessPolicyId": [{"@id": "p"}]}]),
        ] {
            assert_eq!(
                body(document.clone())
                    .required_string("accessPolicyId")
                    .unwrap(),
                "p",
                "{document}"
            );
        }
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let object = body(json!({"dataAddress": {"type": 3}, "limit": -1}));
        let address = object.object("dataAddress").unwrap().unwrap();
        let error = address.required_string("baseUrl").unwrap_err();
        assert!(error.detail().contains("dataAddress.baseUrl is required"));
        let error = address.string("type").unwrap_err();
        assert!(error.detail().contains("dataAddress.type must be a string"));
        assert!(
            object
                .unsigned("limit")
                .unwrap_err()
                .detail()
                .contains("limit must be a non-negative integer")
        );
        assert!(EdcObject::body(Some(json!("text"))).is_err());
        assert!(EdcObject::body(None).is_err());
        assert!(EdcObject::optional_body(None).is_ok());
    }

    #[test]
    fn property_values_are_compacted_but_node_references_kept() {
        let expanded = json!({
            "https://w3id.org/edc/v0.0.1/ns/name": [{"@value": "cell data"}],
            "edc:version": "1",
            "http://purl.org/dc/terms/type": [{"@id": "cx-taxo:PCF"}],
            "keywords": [{"@value": "a"}, {"@value": "b"}],
            "nested": {"edc:inner": [{"@value": 2, "@type": "xsd:integer"}]},
        });
        assert_eq!(
            compact_value(&expanded),
            json!({
                "name": "cell data",
                "version": "1",
                "http://purl.org/dc/terms/type": {"@id": "cx-taxo:PCF"},
                "keywords": ["a", "b"],
                "nested": {"inner": 2},
            })
        );
    }
}
