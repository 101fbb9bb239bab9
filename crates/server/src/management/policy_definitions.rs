//! `/management/v3/policydefinitions`: named ODRL policies.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tsunagu_core::PolicyDefinition;
use tsunagu_engine::NewPolicyDefinition;

use super::auth::Authorized;
use super::error::ManagementError;
use super::jsonld::{EdcObject, RecordId, RequestBody, answer_context, id_response, policy_view};
use super::query::QuerySpec;
use crate::AppState;

/// # `POST /management/v3/policydefinitions`
pub(crate) async fn create(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Value>, ManagementError> {
    let body = EdcObject::body(body)?;
    let request = NewPolicyDefinition {
        id: body.id()?,
        policy: policy(&body)?,
    };
    let definition = state.connector.create_policy_definition(request).await?;
    Ok(Json(id_response(&definition.id, definition.created_at_ms)))
}

/// # `GET /management/v3/policydefinitions/{id}`
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(definition_view(
        &state.connector.policy_definition(&id).await?,
    )))
}

/// # `PUT /management/v3/policydefinitions/{id}`
pub(crate) async fn update(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    RequestBody(body): RequestBody,
) -> Result<StatusCode, ManagementError> {
    let body = EdcObject::body(body)?;
    if body.id()?.is_some_and(|body_id| body_id != id) {
        return Err(ManagementError::bad_request(
            "@id differs from the id in the path",
        ));
    }
    state
        .connector
        .replace_policy_definition(&id, policy(&body)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `DELETE /management/v3/policydefinitions/{id}`
pub(crate) async fn delete(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ManagementError> {
    state.connector.delete_policy_definition(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/policydefinitions/request`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Vec<Value>>, ManagementError> {
    let query = QuerySpec::from_body(body)?;
    let definitions = state
        .connector
        .policy_definitions(query.store_page())
        .await?;
    Ok(Json(query.select(definitions.iter().map(definition_view))))
}

/// The ODRL policy of a request, handed to the engine as sent (the policy crate reads its
/// prefixed and expanded spellings).
fn policy(body: &EdcObject) -> Result<Value, ManagementError> {
    match body.get("policy") {
        Some(policy @ Value::Object(_)) => Ok(policy.clone()),
        Some(_) => Err(ManagementError::bad_request("policy must be an object")),
        None => Err(ManagementError::bad_request("policy is required")),
    }
}

fn definition_view(definition: &PolicyDefinition) -> Value {
    json!({
        "@context": answer_context(),
        "@id": definition.id,
        "@type": "PolicyDefinition",
        "policy": policy_view(&definition.policy),
        "createdAt": definition.created_at_ms,
    })
}
