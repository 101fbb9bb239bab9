//! `/management/v3/contractnegotiations`: negotiations in both roles.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tsunagu_core::Negotiation;
use tsunagu_engine::StartNegotiation;

use super::agreements::agreement_view;
use super::auth::Authorized;
use super::error::ManagementError;
use super::jsonld::{EdcObject, RecordId, RequestBody, answer_context, as_text, id_response};
use super::query::QuerySpec;
use super::{DSP_PROTOCOL, check_protocol, role_name};
use crate::AppState;

/// # `POST /management/v3/contractnegotiations`
///
/// Starts a negotiation, as consumer, for an offer found in a provider's catalog.
pub(crate) async fn create(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Value>, ManagementError> {
    let start = start_negotiation(&EdcObject::body(body)?)?;
    let negotiation = state.connector.start_negotiation(start).await?;
    Ok(Json(id_response(
        &negotiation.id,
        negotiation.created_at_ms,
    )))
}

/// # `GET /management/v3/contractnegotiations/{id}`
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(negotiation_view(
        &state.connector.negotiation(&id).await?,
    )))
}

/// # `GET /management/v3/contractnegotiations/{id}/state`
pub(crate) async fn get_state(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    let negotiation = state.connector.negotiation(&id).await?;
    Ok(Json(json!({
        "@context": answer_context(),
        "@type": "NegotiationState",
        "state": negotiation.state.as_str(),
    })))
}

/// # `GET /management/v3/contractnegotiations/{id}/agreement`
pub(crate) async fn get_agreement(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    let negotiation = state.connector.negotiation(&id).await?;
    let agreement = negotiation.agreement.ok_or_else(|| {
        ManagementError::new(
            StatusCode::NOT_FOUND,
            "the negotiation has no agreement (yet)",
        )
    })?;
    Ok(Json(agreement_view(&agreement)))
}

/// # `POST /management/v3/contractnegotiations/{id}/terminate`
pub(crate) async fn terminate(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    RequestBody(body): RequestBody,
) -> Result<StatusCode, ManagementError> {
    let reason = EdcObject::body(body)?.required_string("reason")?;
    state.connector.terminate_negotiation(&id, reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/contractnegotiations/{id}/accept` (tsunagu)
///
/// The consumer accepts the offer a provider made (DSP `ACCEPTED`); EDC has no such call
/// because it never receives offers it did not ask for.
pub(crate) async fn accept(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ManagementError> {
    state.connector.accept_offer(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/contractnegotiations/request`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Vec<Value>>, ManagementError> {
    let query = QuerySpec::from_body(body)?;
    let negotiations = state.connector.negotiations(query.store_page()).await?;
    Ok(Json(
        query.select(negotiations.iter().map(negotiation_view)),
    ))
}

/// Reads EDC's `ContractRequest`. The provider is named by `counterPartyId` or, as in older
/// EDC clients, by the offer's `assigner`.
fn start_negotiation(body: &EdcObject) -> Result<StartNegotiation, ManagementError> {
    let counter_party_address = body.required_string("counterPartyAddress")?;
    check_protocol(body)?;
    let policy = body.object("policy")?.ok_or_else(|| {
        ManagementError::bad_request("policy is required (the offer from the catalog)")
    })?;
    let counter_party_id = match body
        .string("counterPartyId")?
        .filter(|id| !id.trim().is_empty())
    {
        Some(id) => id,
        None => policy
            .get_odrl("assigner")
            .and_then(as_text)
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                ManagementError::bad_request("counterPartyId is required (or policy.assigner)")
            })?,
    };
    // The engine reads the offer's `target` under its compact name.
    let target = policy.get_odrl("target").cloned();
    let mut offer = policy.into_json();
    if let (Some(target), Some(object)) = (target, offer.as_object_mut()) {
        object.entry("target").or_insert(target);
    }
    // `callbackAddresses` are accepted and ignored: tsunagu has no event callbacks yet.
    Ok(StartNegotiation {
        counter_party_address,
        counter_party_id,
        offer,
    })
}

pub(crate) fn negotiation_view(negotiation: &Negotiation) -> Value {
    let correlation_id = match negotiation.role {
        tsunagu_core::Role::Consumer => &negotiation.provider_pid,
        tsunagu_core::Role::Provider => &negotiation.consumer_pid,
    };
    let mut view = json!({
        "@context": answer_context(),
        "@type": "ContractNegotiation",
        "@id": negotiation.id,
        "type": role_name(negotiation.role),
        "protocol": DSP_PROTOCOL,
        "state": negotiation.state.as_str(),
        "counterPartyId": negotiation.counter_party_id,
        "counterPartyAddress": negotiation.counter_party_address,
        "callbackAddresses": [],
        "createdAt": negotiation.created_at_ms,
    });
    if let Some(correlation_id) = correlation_id {
        view["correlationId"] = Value::from(correlation_id.as_str());
    }
    if let Some(agreement) = &negotiation.agreement {
        view["contractAgreementId"] = Value::from(agreement.id.as_str());
    }
    if let Some(error) = &negotiation.error {
        view["errorDetail"] = Value::from(error.as_str());
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(body: Value) -> Result<StartNegotiation, ManagementError> {
        start_negotiation(&EdcObject::body(Some(body)).unwrap())
    }

    #[test]
    fn the_provider_is_named_by_counter_party_id_or_the_assigner() {
        let by_assigner = start(json!({
            "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
            "@type": "ContractRequest",
            "counterPartyAddress": "https://provider.example/dsp",
            "protocol": "dataspace-protocol-http:2025-1",
            "policy": {"@type": "odrl:Offer", "@id": "o1", "odrl:assigner": {"@id": "BPNL-P"}, "odrl:target": {"@id": "asset-1"}, "permission": []},
        }))
        .unwrap();
        assert_eq!(by_assigner.counter_party_id, "BPNL-P");
        assert_eq!(by_assigner.offer["target"], json!({"@id": "asset-1"}));
        let explicit = start(json!({
            "counterPartyAddress": "https://provider.example/dsp",
            "counterPartyId": "did:web:provider",
            "policy": {"@id": "o1", "assigner": "someone-else"},
        }))
        .unwrap();
        assert_eq!(explicit.counter_party_id, "did:web:provider");
    }

    #[test]
    fn missing_fields_are_named() {
        let detail = |body| start(body).unwrap_err().detail().to_owned();
        assert!(
            detail(json!({"policy": {"@id": "o1", "assigner": "p"}}))
                .contains("counterPartyAddress is required")
        );
        assert!(detail(json!({"counterPartyAddress": "https://p"})).contains("policy is required"));
        assert!(
            detail(json!({"counterPartyAddress": "https://p", "policy": {"@id": "o1"}}))
                .contains("counterPartyId is required")
        );
        assert!(detail(json!({"counterPartyAddress": "https://p", "protocol": "ids-multipart", "policy": {}})).contains("protocol"));
    }
}
