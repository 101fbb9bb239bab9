//! `/management/v3/contractdefinitions`: which assets are offered under which policies.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tsunagu_core::{AssetSelector, ContractDefinition};
use tsunagu_engine::NewContractDefinition;

use super::auth::Authorized;
use super::error::ManagementError;
use super::jsonld::{
    EDC_NAMESPACE, EdcObject, RecordId, RequestBody, answer_context, as_text, compact_key,
    id_response,
};
use super::query::QuerySpec;
use crate::AppState;

/// # `POST /management/v3/contractdefinitions`
pub(crate) async fn create(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Value>, ManagementError> {
    let body = EdcObject::body(body)?;
    let request = NewContractDefinition {
        id: body.id()?,
        access_policy_id: body.required_string("accessPolicyId")?,
        contract_policy_id: body.required_string("contractPolicyId")?,
        assets: asset_selector(body.list("assetsSelector").unwrap_or_default())?,
    };
    let definition = state.connector.create_contract_definition(request).await?;
    Ok(Json(id_response(&definition.id, definition.created_at_ms)))
}

/// # `GET /management/v3/contractdefinitions/{id}`
pub(crate) async fn get(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<Value>, ManagementError> {
    Ok(Json(definition_view(
        &state.connector.contract_definition(&id).await?,
    )))
}

/// # `DELETE /management/v3/contractdefinitions/{id}`
pub(crate) async fn delete(
    _: Authorized,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ManagementError> {
    state.connector.delete_contract_definition(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /management/v3/contractdefinitions/request`
pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<Vec<Value>>, ManagementError> {
    let query = QuerySpec::from_body(body)?;
    let definitions = state
        .connector
        .contract_definitions(query.store_page())
        .await?;
    Ok(Json(query.select(definitions.iter().map(definition_view))))
}

fn definition_view(definition: &ContractDefinition) -> Value {
    json!({
        "@context": answer_context(),
        "@id": definition.id,
        "@type": "ContractDefinition",
        "accessPolicyId": definition.access_policy_id,
        "contractPolicyId": definition.contract_policy_id,
        "assetsSelector": selector_view(&definition.assets),
        "createdAt": definition.created_at_ms,
    })
}

/// EDC's criteria for an asset selector: none for all assets, one on the asset id otherwise.
fn selector_view(selector: &AssetSelector) -> Value {
    let criterion = |operator: &str, right: Value| {
        json!({
            "@type": "Criterion",
            "operandLeft": format!("{EDC_NAMESPACE}id"),
            "operator": operator,
            "operandRight": right,
        })
    };
    match selector {
        AssetSelector::All => json!([]),
        AssetSelector::Ids(ids) if ids.len() == 1 => {
            json!([criterion("=", Value::from(ids[0].as_str()))])
        }
        AssetSelector::Ids(ids) => json!([criterion("in", json!(ids))]),
    }
}

/// Reads EDC's `assetsSelector`: criteria on the asset id, all of which must hold (as in EDC).
/// No criterion selects every asset.
fn asset_selector(criteria: Vec<&Value>) -> Result<AssetSelector, ManagementError> {
    let mut selected: Option<Vec<String>> = None;
    for (index, criterion) in criteria.into_iter().enumerate() {
        let path = format!("assetsSelector[{index}]");
        let ids = criterion_ids(criterion, &path)?;
        selected = Some(match selected {
            None => ids,
            Some(previous) => previous.into_iter().filter(|id| ids.contains(id)).collect(),
        });
    }
    Ok(selected.map_or(AssetSelector::All, AssetSelector::Ids))
}

fn criterion_ids(criterion: &Value, path: &str) -> Result<Vec<String>, ManagementError> {
    let criterion = EdcObject::body(Some(criterion.clone()))
        .map_err(|_| ManagementError::bad_request(format!("{path} must be a criterion object")))?;
    let left = criterion
        .string("operandLeft")?
        .ok_or_else(|| ManagementError::bad_request(format!("{path}.operandLeft is required")))?;
    if !matches!(compact_key(left.trim()), "id" | "@id") {
        return Err(ManagementError::bad_request(format!(
            "{path}.operandLeft {left:?} is not supported: tsunagu selects assets by id only"
        )));
    }
    let operator = criterion
        .string("operator")?
        .ok_or_else(|| ManagementError::bad_request(format!("{path}.operator is required")))?;
    let right = criterion
        .get("operandRight")
        .ok_or_else(|| ManagementError::bad_request(format!("{path}.operandRight is required")))?;
    let text = |value: &Value| {
        as_text(value).ok_or_else(|| {
            ManagementError::bad_request(format!(
                "{path}.operandRight must hold asset ids as strings"
            ))
        })
    };
    match (operator.trim(), right) {
        ("=", right) => Ok(vec![text(right)?]),
        ("in", Value::Array(items)) => items.iter().map(text).collect(),
        ("in", right) => Ok(vec![text(right)?]),
        (other, _) => Err(ManagementError::bad_request(format!(
            "{path}.operator {other:?} is not supported; use \"=\" or \"in\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_read_in_every_form_and_shown_as_criteria() {
        let ids = |selector: Value| {
            let body = EdcObject::body(Some(json!({"assetsSelector": selector}))).unwrap();
            asset_selector(body.list("assetsSelector").unwrap_or_default()).unwrap()
        };
        assert_eq!(asset_selector(Vec::new()).unwrap(), AssetSelector::All);
        assert_eq!(ids(json!([])), AssetSelector::All);
        let one = ids(
            json!({"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=", "operandRight": "a"}),
        );
        assert_eq!(one, AssetSelector::Ids(vec!["a".into()]));
        assert_eq!(
            ids(
                json!([{"edc:operandLeft": "edc:id", "edc:operator": "in", "edc:operandRight": ["a", "b"]}])
            ),
            AssetSelector::Ids(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            ids(json!([
                {"operandLeft": "id", "operator": "in", "operandRight": ["a", "b"]},
                {"operandLeft": "id", "operator": "=", "operandRight": "b"},
            ])),
            AssetSelector::Ids(vec!["b".into()])
        );
        assert_eq!(selector_view(&one)[0]["operator"], "=");
        assert_eq!(selector_view(&one)[0]["operandRight"], "a");
        assert_eq!(
            selector_view(&AssetSelector::Ids(vec!["a".into(), "b".into()]))[0]["operandRight"],
            json!(["a", "b"])
        );
        assert_eq!(ids(selector_view(&one)), one);
    }

    #[test]
    fn criteria_on_other_properties_are_refused() {
        let criterion = json!({"operandLeft": "name", "operator": "=", "operandRight": "x"});
        let error = asset_selector(vec![&criterion]).unwrap_err();
        assert!(error.detail().contains("assetsSelector[0].operandLeft"));
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let criterion = json!({"operandLeft": "id", "operator": "like", "operandRight": "x%"});
        let error = asset_selector(vec![&criterion]).unwrap_err();
        assert!(error.detail().contains("assetsSelector[0].operator"));
    }
}
