use serde::{Serialize, de::DeserializeOwned};

/// The JSON-LD context every DSP 2025-1 message carries.
pub const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

/// The `@context` value tsunagu puts on every message it sends.
pub fn context() -> Vec<String> {
    vec![DSP_CONTEXT.to_owned()]
}

/// Why an incoming message was refused. The text is safe to send back to the caller: it only
/// describes the caller's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the message does not match the {expected} schema: {detail}")]
    Schema {
        expected: &'static str,
        detail: String,
    },
    #[error("expected a message of @type {expected}, got {found}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("@context must be an array that contains \"{DSP_CONTEXT}\"")]
    MissingContext,
    #[error("{0}")]
    Invalid(String),
}

/// A message of the protocol with its fixed `@type`.
pub trait DspMessage: Serialize + DeserializeOwned {
    /// The value of `@type`.
    const TYPE: &'static str;

    /// Checks the constraints the JSON schema states beyond field types (`oneOf` groups,
    /// constants). Field presence and types are checked by deserialisation.
    fn check(&self) -> Result<(), WireError> {
        Ok(())
    }

    fn type_name(&self) -> &str;
    fn context_list(&self) -> &[String];
}

/// Parses and checks one incoming message of type `M` from raw bytes.
///
/// The order of checks gives the most useful error first: JSON syntax, then `@type` (a message
/// sent to the wrong endpoint), then the schema, then `@context`.
pub fn parse<M: DspMessage>(bytes: &[u8]) -> Result<M, WireError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
    let found = match value.get("@type") {
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None => "nothing".to_owned(),
    };
    if found != M::TYPE {
        return Err(WireError::WrongType {
            expected: M::TYPE,
            found,
        });
    }
    let message: M = serde_json::from_value(value).map_err(|e| WireError::Schema {
        expected: M::TYPE,
        detail: e.to_string(),
    })?;
    if !message.context_list().iter().any(|c| c == DSP_CONTEXT) {
        return Err(WireError::MissingContext);
    }
    message.check()?;
    Ok(message)
}

/// Declares a DSP message struct with its `@context` and `@type` members.
macro_rules! dsp_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident : $ty:ty,
            )*
        }
        $(check = $check:path;)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(rename = "@context")]
            pub context: Vec<String>,
            #[serde(rename = "@type")]
            pub kind: String,
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
        }

        impl $name {
            /// The `@type` of this message.
            pub const TYPE: &'static str = stringify!($name);
        }

        impl $crate::message::DspMessage for $name {
            const TYPE: &'static str = stringify!($name);
            fn type_name(&self) -> &str {
                &self.kind
            }
            fn context_list(&self) -> &[String] {
                &self.context
            }
            $(
                fn check(&self) -> Result<(), $crate::message::WireError> {
                    $check(self)
                }
            )?
        }
    };
}
pub(crate) use dsp_message;

/// Serde helper: `reason` is an array in 2025-1 but older peers send one string or objects.
pub(crate) mod reasons {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<serde_json::Value>, D::Error> {
        let value = Option::<serde_json::Value>::deserialize(deserializer)?;
        Ok(match value {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items,
            Some(other) => vec![other],
        })
    }
}
