//! `/management/v3/catalog`: asking another connector for its catalog.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::LINK;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Authorized;
use super::check_protocol;
use super::error::ManagementError;
use super::jsonld::{EdcObject, RequestBody};
use super::query::QuerySpec;
use crate::AppState;

/// The keys under which a DSP catalog lists its datasets.
const DATASET_KEYS: [&str; 3] = [
    "dataset",
    "dcat:dataset",
    "http://www.w3.org/ns/dcat#dataset",
];

/// # `POST /management/v3/catalog/request`
///
/// Sends a DSP `CatalogRequestMessage` and answers the provider's catalog as received. DSP has
/// no paging or filtering that EDC's `querySpec` could map to, so a `querySpec`, when given, is
/// applied here to the datasets of the page the provider sent (filtering by dataset id is what
/// EDC clients use it for). The provider's `next` page, if any, is passed on as a `Link` header.
pub(crate) async fn request(
    _: Authorized,
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Response, ManagementError> {
    let body = EdcObject::body(body)?;
    let address = body.required_string("counterPartyAddress")?;
    check_protocol(&body)?;
    // The provider's participant id (its DID) is the audience of the token that
    // authenticates us to it; development connectors do without.
    let counter_party_id = body.string("counterPartyId")?.unwrap_or_default();
    let query = body
        .object("querySpec")?
        .map(|query| QuerySpec::from_object(&query))
        .transpose()?;
    let message = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage",
    });
    let (mut catalog, next) = state
        .connector
        .request_catalog(&counter_party_id, &address, message)
        .await?;
    if let Some(query) = query {
        select_datasets(&query, &mut catalog);
    }
    let mut response = Json(catalog).into_response();
    if let Some(link) =
        next.and_then(|next| HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).ok())
    {
        response.headers_mut().insert(LINK, link);
    }
    Ok(response)
}

/// Applies `query` to the datasets of `catalog`.
fn select_datasets(query: &QuerySpec, catalog: &mut Value) {
    let Some(catalog) = catalog.as_object_mut() else {
        return;
    };
    for key in DATASET_KEYS {
        if let Some(datasets) = catalog.get_mut(key) {
            let all = match datasets.take() {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                single => vec![single],
            };
            *datasets = Value::Array(query.select_all(all));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_selects_datasets_of_the_received_catalog() {
        let mut catalog = json!({
            "@type": "Catalog",
            "dataset": [{"@id": "a", "hasPolicy": []}, {"@id": "b"}, {"@id": "c"}],
        });
        let query = QuerySpec::from_body(Some(json!({
            "filterExpression": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=", "operandRight": "b"}]
        })))
        .unwrap();
        select_datasets(&query, &mut catalog);
        assert_eq!(catalog["dataset"], json!([{"@id": "b"}]));

        let mut single = json!({"dcat:dataset": {"@id": "a"}});
        select_datasets(
            &QuerySpec::from_body(Some(json!({"offset": 1}))).unwrap(),
            &mut single,
        );
        assert_eq!(single["dcat:dataset"], json!([]));
    }
}
