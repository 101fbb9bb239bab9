use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{WireError, dsp_message, reasons};

/// The states of a contract negotiation as the protocol names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NegotiationState {
    Requested,
    Offered,
    Accepted,
    Agreed,
    Verified,
    Finalized,
    Terminated,
}

/// The event types of a `ContractNegotiationEventMessage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NegotiationEventType {
    Accepted,
    Finalized,
}

dsp_message! {
    /// Sent by a consumer to start a negotiation or to answer a provider's offer.
    pub struct ContractRequestMessage {
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub provider_pid: Option<String>,
        pub offer: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub callback_address: Option<String>,
    }
    check = check_contract_request;
}

fn check_contract_request(message: &ContractRequestMessage) -> Result<(), WireError> {
    // The schema's oneOf: an initial request names a callback address, a later one the
    // provider's process id; exactly one of the two.
    match (&message.callback_address, &message.provider_pid) {
        (Some(_), Some(_)) | (None, None) => Err(WireError::Schema {
            expected: ContractRequestMessage::TYPE,
            detail: "exactly one of callbackAddress (initial request) and providerPid (counter-offer) must be present".into(),
        }),
        _ => check_message_offer(&message.offer, ContractRequestMessage::TYPE),
    }
}

dsp_message! {
    /// Sent by a provider to start a negotiation or to answer a consumer's request.
    pub struct ContractOfferMessage {
        pub provider_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub consumer_pid: Option<String>,
        pub offer: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub callback_address: Option<String>,
    }
    check = check_contract_offer;
}

fn check_contract_offer(message: &ContractOfferMessage) -> Result<(), WireError> {
    match (&message.callback_address, &message.consumer_pid) {
        (Some(_), Some(_)) | (None, None) => Err(WireError::Schema {
            expected: ContractOfferMessage::TYPE,
            detail: "exactly one of callbackAddress (initial offer) and consumerPid (counter-offer) must be present".into(),
        }),
        _ => check_message_offer(&message.offer, ContractOfferMessage::TYPE),
    }
}

/// An offer inside a negotiation message must be an object typed `Offer` with an `@id` and a
/// `target`, and none of its rules may carry a `target` (DSP 2025-1, contract-schema.json).
fn check_message_offer(offer: &Value, expected: &'static str) -> Result<(), WireError> {
    let fail = |detail: &str| {
        Err(WireError::Schema {
            expected,
            detail: detail.to_owned(),
        })
    };
    let Some(object) = offer.as_object() else {
        return fail("offer must be an object");
    };
    match object.get("@type").and_then(Value::as_str) {
        Some("Offer") => {}
        _ => return fail("offer.@type must be \"Offer\""),
    }
    if !object.get("@id").is_some_and(Value::is_string) {
        return fail("offer.@id must be a string");
    }
    if !object.get("target").is_some_and(Value::is_string) {
        return fail("offer.target must be a string");
    }
    check_rules_have_no_target(object, expected)
}

fn check_rules_have_no_target(
    policy: &serde_json::Map<String, Value>,
    expected: &'static str,
) -> Result<(), WireError> {
    for key in ["permission", "prohibition", "obligation"] {
        if let Some(rules) = policy.get(key) {
            let Some(rules) = rules.as_array() else {
                return Err(WireError::Schema {
                    expected,
                    detail: format!("{key} must be an array"),
                });
            };
            for rule in rules {
                if !rule.is_object() {
                    return Err(WireError::Schema {
                        expected,
                        detail: format!("every {key} must be an object"),
                    });
                }
                if rule.get("target").is_some() {
                    return Err(WireError::Schema {
                        expected,
                        detail: format!("a {key} rule must not carry its own target"),
                    });
                }
                if rule.get("action").is_none() {
                    return Err(WireError::Schema {
                        expected,
                        detail: format!("every {key} rule needs an action"),
                    });
                }
            }
        }
    }
    Ok(())
}

dsp_message! {
    /// Sent by a provider with the complete agreement.
    pub struct ContractAgreementMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
        pub agreement: Value,
    }
    check = check_contract_agreement;
}

fn check_contract_agreement(message: &ContractAgreementMessage) -> Result<(), WireError> {
    let expected = ContractAgreementMessage::TYPE;
    let fail = |detail: &str| {
        Err(WireError::Schema {
            expected,
            detail: detail.to_owned(),
        })
    };
    let Some(object) = message.agreement.as_object() else {
        return fail("agreement must be an object");
    };
    if object.get("@type").and_then(Value::as_str) != Some("Agreement") {
        return fail("agreement.@type must be \"Agreement\"");
    }
    for key in ["@id", "target", "assigner", "assignee", "timestamp"] {
        if !object.get(key).is_some_and(Value::is_string) {
            return fail(&format!("agreement.{key} must be a string"));
        }
    }
    check_rules_have_no_target(object, expected)
}

dsp_message! {
    /// Sent by a consumer to confirm the agreement it received.
    pub struct ContractAgreementVerificationMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
    }
}

dsp_message! {
    /// `ACCEPTED` from a consumer, `FINALIZED` from a provider.
    pub struct ContractNegotiationEventMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
        pub event_type: NegotiationEventType,
    }
}

dsp_message! {
    /// Ends a negotiation from either side.
    pub struct ContractNegotiationTerminationMessage {
        pub provider_pid: String,
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, deserialize_with = "reasons::deserialize", skip_serializing_if = "Vec::is_empty")]
        pub reason: Vec<Value>,
    }
}

dsp_message! {
    /// The acknowledgement: a negotiation as one party sees it.
    pub struct ContractNegotiation {
        pub provider_pid: String,
        pub consumer_pid: String,
        pub state: NegotiationState,
    }
}

dsp_message! {
    /// The error body of the negotiation endpoints.
    pub struct ContractNegotiationError {
        pub provider_pid: String,
        pub consumer_pid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, deserialize_with = "reasons::deserialize", skip_serializing_if = "Vec::is_empty")]
        pub reason: Vec<Value>,
    }
}

impl ContractNegotiation {
    pub fn new(provider_pid: String, consumer_pid: String, state: NegotiationState) -> Self {
        ContractNegotiation {
            context: crate::context(),
            kind: Self::TYPE.to_owned(),
            provider_pid,
            consumer_pid,
            state,
        }
    }
}

impl ContractNegotiationError {
    pub fn new(provider_pid: String, consumer_pid: String, code: &str, reason: String) -> Self {
        ContractNegotiationError {
            context: crate::context(),
            kind: Self::TYPE.to_owned(),
            provider_pid,
            consumer_pid,
            code: Some(code.to_owned()),
            reason: vec![Value::String(reason)],
        }
    }
}
