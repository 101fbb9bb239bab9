//! `/management/v3/contractagreements`: the contracts this connector holds, in both roles.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tsunagu_core::Agreement;

use super::auth::Authorized;
use super::error::ManagementError;
use super::jsonld::{RecordId, RequestBody, answer_context, policy_view};
use super::negotiations::negotiation_view;
use super::query::QuerySpec;
use crate::AppState;

/// # `GET /management/v3/contractagreements/{id}`
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(agreement_view(&state.connector.agreement(&id).await?)))
}

/// # `GET /management/v3/contractagreements/{id}/negotiation`
pub(crate) async fn get_negotiation(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    let agreement = state.connector.agreement(&id).await?;
    let negotiation = state
        .connector
        .negotiation(&agreement.negotiation_id)
        .await?;
    Ok(Json(negotiation_view(&negotiation)))
}

/// # `POST /management/v3/contractagreements/request`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Vec<Value>>, ManagementError> {
    let query = QuerySpec::from_body(body)?;
    let agreements = state.connector.agreements(query.store_page()).await?;
    Ok(Json(query.select(agreements.iter().map(agreement_view))))
}

pub(crate) fn agreement_view(agreement: &Agreement) -> Value {
    json!({
        "@context": answer_context(),
        "@type": "ContractAgreement",
        "@id": agreement.id,
        "assetId": agreement.dataset_id,
        "policy": policy_view(&agreement.policy),
        // EDC gives the signing date in seconds.
        "contractSigningDate": agreement.signed_at_ms.div_euclid(1000),
        "consumerId": agreement.consumer_id,
        "providerId": agreement.provider_id,
    })
}
