use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{WireError, dsp_message, reasons};

/// The states of a transfer process as the protocol names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferState {
    Requested,
    Started,
    Suspended,
    Completed,
    Terminated,
}

/// Where data is to be fetched (pull, in `TransferStartMessage`) or delivered (push, in
/// `TransferRequestMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataAddress {
    #[serde(rename = "@type")]
    pub kind: String,
    pub endpoint_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_properties: Vec<EndpointProperty>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointProperty {
    #[serde(rename = "@type")]
    pub kind: String,
    pub name: String,
    pub value: String,
}

impl DataAddress {
    /// The endpoint type tsunagu uses for HTTP pull and push.
    pub const HTTP: &'static str = "https://w3id.org/idsa/v4.1/HTTP";

    /// An HTTP endpoint with a bearer token.
    pub fn http_bearer(endpoint: String, token: String) -> Self {
        DataAddress {
            kind: "DataAddress".to_owned(),
            endpoint_type: Self::HTTP.to_owned(),
            endpoint: Some(endpoint),
            endpoint_properties: vec![
                EndpointProperty {
                    kind: "EndpointProperty".to_owned(),
                    name: "authorization".to_owned(),
                    value: token,
                },
                EndpointProperty {
                    kind: "EndpointProperty".to_owned(),
                    name: "authType".to_owned(),
                    value: "bearer".to_owned(),
                },
            ],
        }
    }

    /// The value of the endpoint property `name`, if any.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.endpoint_properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    fn check(&self, expected: &'static str) -> Result<(), WireError> {
        if self.kind != "DataAddress" {
            return Err(WireError::Schema {
                expected,
                detail: "dataAddress.@type must be \"DataAddress\"".into(),
            });
        }
        if self
            .endpoint_properties
            .iter()
            .any(|p| p.kind != "EndpointProperty")
        {
            return Err(WireError::Schema {
                expected,
                detail: "every endpointProperties entry must have @type \"EndpointProperty\""
                    .into(),
            });
        }
        Ok(())
    }
}

dsp_message! {
    /// Sent by a consumer to start a transfer under an agreement.
    pub struct TransferRequestMessage {
        pub consumer_pid: String,
        pub agreement_id: String,
        pub format: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_address: Option<DataAddress>,
        pub callback_address: String,
    }
    check = check_transfer_request;
}

fn check_transfer_request(message: &TransferRequestMessage) -> Result<(), WireError> {
    match &message.data_address {
        Some(address) => address.check(TransferRequestMessage::TYPE),
        None => Ok(()),
    }
}

dsp_message! {
    /// Sent by a provider when data can flow (pull: with the address to fetch it from), and by a
    /// consumer to resume a suspended transfer.
    pub struct TransferStartMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_address: Option<DataAddress>,
    }
    check = check_transfer_start;
}

fn check_transfer_start(message: &TransferStartMessage) -> Result<(), WireError> {
    match &message.data_address {
        Some(address) => address.check(TransferStartMessage::TYPE),
        None => Ok(()),
    }
}

dsp_message! {
    pub struct TransferSuspensionMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, deserialize_with = "reasons::deserialize", skip_serializing_if = "Vec::is_empty")]
        pub reason: Vec<Value>,
    }
}

dsp_message! {
    pub struct TransferCompletionMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
    }
}

dsp_message! {
    pub struct TransferTerminationMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, deserialize_with = "reasons::deserialize", skip_serializing_if = "Vec::is_empty")]
        pub reason: Vec<Value>,
    }
}

dsp_message! {
    /// The acknowledgement: a transfer process as one party sees it.
    pub struct TransferProcess {
        pub provider_pid: String,
        pub consumer_pid: String,
        pub state: TransferState,
    }
}

dsp_message! {
    /// The error body of the transfer endpoints.
    pub struct TransferError {
        pub provider_pid: String,
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, deserialize_with = "reasons::deserialize", skip_serializing_if = "Vec::is_empty")]
        pub reason: Vec<Value>,
    }
}

impl TransferProcess {
    pub fn new(provider_pid: String, consumer_pid: String, state: TransferState) -> Self {
        TransferProcess {
            context: crate::context(),
            kind: Self::TYPE.to_owned(),
            provider_pid,
            consumer_pid,
            state,
        }
    }
}

impl TransferError {
    pub fn new(provider_pid: String, consumer_pid: String, code: &str, reason: String) -> Self {
        TransferError {
            context: crate::context(),
            kind: Self::TYPE.to_owned(),
            provider_pid,
            consumer_pid,
            code: Some(code.to_owned()),
            reason: vec![Value::String(reason)],
        }
    }
}
