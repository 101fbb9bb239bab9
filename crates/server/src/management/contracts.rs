//! `/management/v3/contracttemplates` and `/management/v3/contractterms` (tsunagu): the
//! contract template library, making a contract policy from a template, and reading the
//! contract texts the connector keeps.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tsunagu_contracts::Language;

use super::auth::Authorized;
use super::error::ManagementError;
use crate::AppState;

/// # `GET /management/v3/contracttemplates`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(json!(state.connector.contract_library().list())))
}

/// # `GET /management/v3/contracttemplates/{id}`
///
/// The latest version of a template: its titles, description and parameters (what a form to
/// fill it in needs).
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ManagementError> {
    let template = state
        .connector
        .contract_library()
        .latest(&id)
        .ok_or(tsunagu_engine::EngineError::NotFound)?;
    Ok(Json(json!({
        "id": template.id(),
        "version": template.version(),
        "title": template.title(),
        "description": template.description(),
        "parameters": template.parameters(),
        "clauses": template.clauses().iter().map(|clause| clause.id.clone()).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InstantiateRequest {
    /// A version of the template; the latest when absent.
    version: Option<String>,
    /// The parameter values, as the template declares them (numbers may be given as JSON
    /// numbers).
    #[serde(default)]
    parameters: BTreeMap<String, Value>,
    /// The id of the policy definition to create.
    policy_id: Option<String>,
}

/// # `POST /management/v3/contracttemplates/{id}/instantiate`
///
/// Makes a contract from the template: creates a policy definition with its policy (to be
/// named as the contract policy of contract definitions) and keeps its text. Answers the
/// policy definition id and the terms reference.
pub(crate) async fn instantiate(
    _: Authorized,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(request): Json<InstantiateRequest>,
) -> Result<(StatusCode, Json<Value>), ManagementError> {
    let mut parameters = BTreeMap::new();
    for (name, value) in request.parameters {
        let text = match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            _ => {
                return Err(ManagementError::bad_request(format!(
                    "parameter {name} must be a string or a number"
                )));
            }
        };
        parameters.insert(name, text);
    }
    let (definition, contract) = state
        .connector
        .instantiate_contract(
            &id,
            request.version.as_deref(),
            &parameters,
            request.policy_id,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "policyDefinitionId": definition.id,
            "policy": definition.policy,
            "termsReference": contract.terms_reference,
            "termsSha256": contract.terms.sha256_hex(),
        })),
    ))
}

#[derive(Deserialize)]
pub(crate) struct TextQuery {
    lang: Option<String>,
    format: Option<String>,
}

/// # `GET /management/v3/contractterms/{sha256}?lang=en|ja&format=html|markdown|json`
///
/// A contract text the connector made or agreed to.
pub(crate) async fn text(
    _: Authorized,
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    Query(query): Query<TextQuery>,
) -> Result<Response, ManagementError> {
    let contract = state.connector.contract_text(&sha256).await?;
    let language = match query.lang.as_deref() {
        None | Some("en") => Language::En,
        Some("ja") => Language::Ja,
        Some(other) => {
            return Err(ManagementError::bad_request(format!(
                "lang {other:?}: use en or ja"
            )));
        }
    };
    Ok(match query.format.as_deref() {
        None | Some("html") => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            contract.html(language).to_owned(),
        )
            .into_response(),
        Some("markdown") => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            contract.markdown(language).to_owned(),
        )
            .into_response(),
        Some("json") => Json(contract).into_response(),
        Some(other) => {
            return Err(ManagementError::bad_request(format!(
                "format {other:?}: use html, markdown or json"
            )));
        }
    })
}
