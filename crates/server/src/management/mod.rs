//! The management API: the company's own administration of its connector, under
//! `/management/v3`, modelled on the Eclipse EDC management API v3 so that scripts and clients
//! written for Tractus-X EDC drive tsunagu unchanged. Where tsunagu needs more (uploading an
//! asset's bytes, reading a transfer's data, accepting a provider's offer) it adds endpoints
//! beside EDC's instead of changing them.
//!
//! Every endpoint requires the `X-Api-Key` header; errors are `application/problem+json`.
//! The endpoints are listed once, in `endpoints()`: the router is built from that table and
//! a test holds it against `openapi.json`.
//!
//! This module must never return a secret (a source credential, a transfer token), echo an
//! internal error, or log the API key.

mod agreements;
mod assets;
pub(crate) mod auth;
mod catalog;
mod contract_definitions;
mod contracts;
mod data;
pub(crate) mod error;
mod jsonld;
mod ledger;
mod negotiations;
mod policy_definitions;
mod query;
mod transfers;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, on};
use tsunagu_core::Role;

use self::auth::Authorized;
use self::error::ManagementError;
use self::jsonld::EdcObject;
use crate::AppState;

/// The OpenAPI 3.1 description of every endpoint in `endpoints()`.
const OPENAPI: &str = include_str!("openapi.json");

/// The protocol EDC names in its answers for DSP 2025-1.
pub(crate) const DSP_PROTOCOL: &str = "dataspace-protocol-http:2025-1";

/// One route of the API.
pub(crate) struct Endpoint {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    /// Routes the handler for the method it is given (the endpoint's own).
    handler: Box<dyn FnOnce(MethodFilter) -> MethodRouter<AppState>>,
}

fn endpoint<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Endpoint {
        method,
        path,
        handler: Box::new(move |filter| on(filter, handler)),
    }
}

/// Every endpoint of the management API, in the order of the OpenAPI document.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    vec![
        endpoint(M::GET, "/management/openapi.json", openapi),
        // Assets.
        endpoint(M::POST, "/management/v3/assets", assets::create),
        endpoint(M::PUT, "/management/v3/assets", assets::update),
        endpoint(M::POST, "/management/v3/assets/request", assets::list),
        endpoint(M::GET, "/management/v3/assets/{id}", assets::get),
        endpoint(M::DELETE, "/management/v3/assets/{id}", assets::delete),
        endpoint(M::PUT, "/management/v3/assets/{id}/data", assets::upload),
        endpoint(
            M::GET,
            "/management/v3/assets/{id}/data",
            assets::download_data,
        ),
        // Policy definitions.
        endpoint(
            M::POST,
            "/management/v3/policydefinitions",
            policy_definitions::create,
        ),
        endpoint(
            M::POST,
            "/management/v3/policydefinitions/request",
            policy_definitions::list,
        ),
        endpoint(
            M::GET,
            "/management/v3/policydefinitions/{id}",
            policy_definitions::get,
        ),
        endpoint(
            M::PUT,
            "/management/v3/policydefinitions/{id}",
            policy_definitions::update,
        ),
        endpoint(
            M::DELETE,
            "/management/v3/policydefinitions/{id}",
            policy_definitions::delete,
        ),
        // Contract definitions.
        endpoint(
            M::POST,
            "/management/v3/contractdefinitions",
            contract_definitions::create,
        ),
        endpoint(
            M::POST,
            "/management/v3/contractdefinitions/request",
            contract_definitions::list,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractdefinitions/{id}",
            contract_definitions::get,
        ),
        endpoint(
            M::DELETE,
            "/management/v3/contractdefinitions/{id}",
            contract_definitions::delete,
        ),
        // Catalog.
        endpoint(M::POST, "/management/v3/catalog/request", catalog::request),
        // Contract negotiations.
        endpoint(
            M::POST,
            "/management/v3/contractnegotiations",
            negotiations::create,
        ),
        endpoint(
            M::POST,
            "/management/v3/contractnegotiations/request",
            negotiations::list,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractnegotiations/{id}",
            negotiations::get,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractnegotiations/{id}/state",
            negotiations::get_state,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractnegotiations/{id}/agreement",
            negotiations::get_agreement,
        ),
        endpoint(
            M::POST,
            "/management/v3/contractnegotiations/{id}/terminate",
            negotiations::terminate,
        ),
        endpoint(
            M::POST,
            "/management/v3/contractnegotiations/{id}/accept",
            negotiations::accept,
        ),
        // Contract agreements.
        endpoint(
            M::POST,
            "/management/v3/contractagreements/request",
            agreements::list,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractagreements/{id}",
            agreements::get,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractagreements/{id}/negotiation",
            agreements::get_negotiation,
        ),
        // Transfer processes.
        endpoint(
            M::POST,
            "/management/v3/transferprocesses",
            transfers::create,
        ),
        endpoint(
            M::POST,
            "/management/v3/transferprocesses/request",
            transfers::list,
        ),
        endpoint(
            M::GET,
            "/management/v3/transferprocesses/{id}",
            transfers::get,
        ),
        endpoint(
            M::GET,
            "/management/v3/transferprocesses/{id}/state",
            transfers::get_state,
        ),
        endpoint(
            M::POST,
            "/management/v3/transferprocesses/{id}/suspend",
            transfers::suspend,
        ),
        endpoint(
            M::POST,
            "/management/v3/transferprocesses/{id}/resume",
            transfers::resume,
        ),
        endpoint(
            M::POST,
            "/management/v3/transferprocesses/{id}/terminate",
            transfers::terminate,
        ),
        endpoint(
            M::POST,
            "/management/v3/transferprocesses/{id}/complete",
            transfers::complete,
        ),
        endpoint(
            M::GET,
            "/management/v3/transferprocesses/{id}/data",
            transfers::data,
        ),
        // The transaction log (tsunagu).
        endpoint(
            M::GET,
            "/management/v3/ledger/checkpoint",
            ledger::checkpoint,
        ),
        endpoint(M::GET, "/management/v3/ledger/entries", ledger::entries),
        endpoint(
            M::GET,
            "/management/v3/ledger/proofs/inclusion",
            ledger::inclusion,
        ),
        endpoint(
            M::GET,
            "/management/v3/ledger/proofs/consistency",
            ledger::consistency,
        ),
        endpoint(
            M::GET,
            "/management/v3/ledger/cosignatures",
            ledger::cosignatures,
        ),
        endpoint(M::GET, "/management/v3/ledger/witnessed", ledger::witnessed),
        endpoint(
            M::GET,
            "/management/v3/ledger/witness-alarms",
            ledger::witness_alarms,
        ),
        endpoint(M::GET, "/management/v3/ledger/history", ledger::history),
        // Contract templates and texts (tsunagu).
        endpoint(M::GET, "/management/v3/contracttemplates", contracts::list),
        endpoint(
            M::GET,
            "/management/v3/contracttemplates/{id}",
            contracts::get,
        ),
        endpoint(
            M::POST,
            "/management/v3/contracttemplates/{id}/instantiate",
            contracts::instantiate,
        ),
        endpoint(
            M::GET,
            "/management/v3/contractterms/{sha256}",
            contracts::text,
        ),
        endpoint(
            M::POST,
            "/management/v3/ledger/partner-history",
            ledger::partner_history,
        ),
    ]
}

pub(crate) fn routes() -> Router<AppState> {
    endpoints()
        .into_iter()
        .fold(Router::new(), |router, endpoint| {
            let filter =
                MethodFilter::try_from(endpoint.method).expect("the table names standard methods");
            router.route(endpoint.path, (endpoint.handler)(filter))
        })
}

/// # `GET /management/openapi.json`
async fn openapi(_: Authorized) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Refuses a `protocol` other than DSP. EDC clients name the 2025-1 binding or, from older
/// versions, the unversioned one; tsunagu speaks 2025-1 whatever the name.
pub(crate) fn check_protocol(body: &EdcObject) -> Result<(), ManagementError> {
    match body.string("protocol")?.as_deref() {
        None | Some(DSP_PROTOCOL) | Some("dataspace-protocol-http") => Ok(()),
        Some(other) => Err(ManagementError::bad_request(format!(
            "protocol {other:?} is not supported; use \"{DSP_PROTOCOL}\""
        ))),
    }
}

/// EDC's name for this connector's side of a process.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Consumer => "CONSUMER",
        Role::Provider => "PROVIDER",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every route the router serves is documented, and every documented operation is served.
    #[test]
    fn the_openapi_document_describes_exactly_the_routes() {
        let document: serde_json::Value =
            serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert_eq!(
            document["openapi"].as_str().map(|v| v.starts_with("3.1")),
            Some(true)
        );
        let mut documented = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ] {
                if item.get(method).is_some() {
                    documented.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        let served: BTreeSet<(String, String)> = endpoints()
            .iter()
            .map(|endpoint| (endpoint.method.to_string(), endpoint.path.to_owned()))
            .collect();
        assert_eq!(
            served.len(),
            endpoints().len(),
            "the table lists a route twice"
        );
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "served but not documented: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
    }

    /// Every operation names the API key scheme (globally) and says what it answers.
    #[test]
    fn the_openapi_document_declares_the_api_key_and_every_answer() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let scheme = &document["components"]["securitySchemes"]["ApiKey"];
        assert_eq!(scheme["type"], "apiKey");
        assert_eq!(scheme["in"], "header");
        assert_eq!(scheme["name"], "X-Api-Key");
        assert_eq!(document["security"], serde_json::json!([{"ApiKey": []}]));
        let text = OPENAPI;
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let responses = operation["responses"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} has no responses"));
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} does not document 401"
                );
                assert!(
                    operation["operationId"].is_string(),
                    "{method} {path} has no operationId"
                );
            }
        }
        // Every reference resolves.
        for reference in text.split("\"$ref\": \"#/").skip(1) {
            let pointer = format!("/{}", &reference[..reference.find('"').unwrap()]);
            assert!(
                document.pointer(&pointer).is_some(),
                "dangling $ref {pointer}"
            );
        }
    }
}
