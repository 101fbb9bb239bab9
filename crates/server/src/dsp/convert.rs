//! The one place where DSP wire messages and domain records meet, in both directions.

use serde_json::Value;
use tsunagu_core::{NegotiationState, TransferMode, TransferState};
use tsunagu_engine::{CatalogEntry, Settings};
use tsunagu_wire as wire;

pub(crate) fn negotiation_state(state: NegotiationState) -> wire::NegotiationState {
    match state {
        NegotiationState::Requested => wire::NegotiationState::Requested,
        NegotiationState::Offered => wire::NegotiationState::Offered,
        NegotiationState::Accepted => wire::NegotiationState::Accepted,
        NegotiationState::Agreed => wire::NegotiationState::Agreed,
        NegotiationState::Verified => wire::NegotiationState::Verified,
        NegotiationState::Finalized => wire::NegotiationState::Finalized,
        NegotiationState::Terminated => wire::NegotiationState::Terminated,
    }
}

pub(crate) fn transfer_state(state: TransferState) -> wire::TransferState {
    match state {
        TransferState::Requested => wire::TransferState::Requested,
        TransferState::Started => wire::TransferState::Started,
        TransferState::Suspended => wire::TransferState::Suspended,
        TransferState::Completed => wire::TransferState::Completed,
        TransferState::Terminated => wire::TransferState::Terminated,
    }
}

pub(crate) fn negotiation_ack(
    negotiation: &tsunagu_core::Negotiation,
    state: NegotiationState,
) -> wire::ContractNegotiation {
    wire::ContractNegotiation::new(
        negotiation.provider_pid.clone().unwrap_or_default(),
        negotiation.consumer_pid.clone().unwrap_or_default(),
        negotiation_state(state),
    )
}

pub(crate) fn transfer_ack(
    transfer: &tsunagu_core::Transfer,
    state: TransferState,
) -> wire::TransferProcess {
    wire::TransferProcess::new(
        transfer.provider_pid.clone().unwrap_or_default(),
        transfer.consumer_pid.clone().unwrap_or_default(),
        transfer_state(state),
    )
}

fn service_id(settings: &Settings) -> String {
    format!("{}#dsp", settings.dsp_url.trim_end_matches('/'))
}

/// Asset properties that would collide with the dataset's own members are not copied.
const RESERVED: [&str; 6] = [
    "@context",
    "@id",
    "@type",
    "hasPolicy",
    "distribution",
    "participantId",
];

pub(crate) fn dataset(settings: &Settings, entry: &CatalogEntry, root: bool) -> wire::Dataset {
    let has_policy = entry
        .offers
        .iter()
        .map(|offer| {
            let mut policy = serde_json::Map::new();
            policy.insert("@id".into(), Value::String(offer.id.encode()));
            policy.insert("@type".into(), Value::String("Offer".into()));
            if let Some(rules) = offer.policy.as_object() {
                for (key, value) in rules {
                    policy.insert(key.clone(), value.clone());
                }
            }
            // The schema wants at least one rule; a policy without one grants nothing, so an
            // offer always has its permissions here.
            Value::Object(policy)
        })
        .collect();
    let distribution = [TransferMode::Pull, TransferMode::Push]
        .into_iter()
        .map(|mode| wire::Distribution {
            kind: "Distribution".into(),
            format: mode.format().into(),
            access_service: Value::String(service_id(settings)),
            has_policy: Vec::new(),
        })
        .collect();
    let mut extra = serde_json::Map::new();
    for (key, value) in &entry.asset.properties {
        if !RESERVED.contains(&key.as_str()) {
            extra.insert(key.clone(), value.clone());
        }
    }
    wire::Dataset {
        context: root.then(wire::context),
        id: entry.asset.id.clone(),
        kind: "Dataset".into(),
        has_policy,
        distribution,
        extra,
    }
}

pub(crate) fn catalog(settings: &Settings, entries: &[CatalogEntry]) -> wire::Catalog {
    wire::Catalog {
        context: Some(wire::context()),
        id: format!("{}#catalog", settings.dsp_url.trim_end_matches('/')),
        kind: "Catalog".into(),
        participant_id: Some(settings.participant_id.clone()),
        service: vec![wire::DataService {
            id: service_id(settings),
            kind: "DataService".into(),
            endpoint_url: Some(settings.dsp_url.clone()),
            extra: Default::default(),
        }],
        dataset: entries
            .iter()
            .map(|entry| dataset(settings, entry, false))
            .collect(),
        catalog: Vec::new(),
        distribution: Vec::new(),
        has_policy: Vec::new(),
        extra: Default::default(),
    }
}

/// The pull address in a `TransferStartMessage`, or the push address in a request.
pub(crate) fn http_address(
    address: &wire::DataAddress,
) -> Result<(String, Option<String>), String> {
    if address.endpoint_type != wire::DataAddress::HTTP {
        return Err(format!(
            "dataAddress.endpointType {} is not supported; use {}",
            address.endpoint_type,
            wire::DataAddress::HTTP
        ));
    }
    let endpoint = address
        .endpoint
        .clone()
        .ok_or_else(|| "dataAddress.endpoint is required".to_owned())?;
    if let Some(kind) = address.property("authType")
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(format!(
            "dataAddress authType {kind} is not supported; use bearer"
        ));
    }
    Ok((
        endpoint,
        address.property("authorization").map(str::to_owned),
    ))
}

/// The first textual reason of an error or termination message.
pub(crate) fn first_reason(reasons: &[Value]) -> Option<String> {
    reasons.iter().find_map(|reason| match reason {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => object
            .get("@value")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    })
}
