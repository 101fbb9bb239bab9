//! No DSP endpoint panics on arbitrary input, and each one answers what the binding demands:
//! a clean 400 with the protocol's own error message for anything it cannot accept, 404 only
//! for a well-formed message about a process the caller has no access to, and the store left as
//! it was whenever the request is refused.
//!
//! The oracle for "well-formed" is tsunagu's own wire parser (`tsunagu_wire::parse`) plus the
//! few content checks the handlers make before they look a process up; the test states, per
//! endpoint, exactly which answer each input must get. Inputs are arbitrary JSON (biased
//! towards the real field names and values), mutations of the official examples and raw bytes.
//!
//! The store holds a finalized negotiation and a started transfer of another participant, and
//! their process ids are among those the generator uses, so "not yours" is exercised as well as
//! "unknown".

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use tsunagu_core::AssetSelector;
use tsunagu_engine::{
    Connector, NewAssetRequest, NewContractDefinition, NewPolicyDefinition, Settings,
};
use tsunagu_server::{AppState, CallerIdentityHeaders, DevHeaderAuthenticator, public_router};
use tsunagu_store::{Page, SqliteStore};
use tsunagu_testkit::DspSchemas;
use tsunagu_wire::{self as wire, DspMessage};

const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";
const PROVIDER: &str = "did:web:cathode.example";
/// The participant whose negotiation and transfer are in the store.
const CONSUMER: &str = "did:web:cells.example";
/// The participant that sends the generated input.
const FUZZER: &str = "did:web:fuzzer.example";
const CONSUMER_CALLBACK: &str = "https://cells.example/dsp/callback";
const SEEDED_CONSUMER_PID: &str = "urn:uuid:seeded-negotiation";
const SEEDED_TRANSFER_CONSUMER_PID: &str = "urn:uuid:seeded-transfer";
/// Cases per endpoint and input family; 20 endpoints, three families.
const CASES: u32 = 64;

/// What a well-formed message needs beyond parsing before its process is looked up.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// Nothing: the process is looked up right away.
    Nothing,
    /// The offer must be an ODRL policy tsunagu reads, with an `@id`.
    Offer,
    /// A `dataAddress`, when present, must be HTTP with a bearer token (or none).
    Address,
}

/// Which of the message's process ids must equal the one in the path.
#[derive(Debug, Clone, Copy)]
enum Own {
    Provider,
    Consumer,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    Catalog,
    InitialRequest,
    InitialOffer,
    TransferRequest,
    Process(Own, Content),
}

#[derive(Debug, Clone, Copy)]
struct Endpoint {
    /// The path, with `{pid}` for the process id.
    path: &'static str,
    /// The `@type` of the message it takes.
    message: &'static str,
    /// The `@type` of its error message.
    error: &'static str,
    rule: Rule,
}

const CATALOG_ERROR: &str = "CatalogError";
const NEGOTIATION_ERROR: &str = "ContractNegotiationError";
const TRANSFER_ERROR: &str = "TransferError";

/// Every POST endpoint of `crates/server/src/dsp/mod.rs`.
const ENDPOINTS: [Endpoint; 20] = [
    Endpoint {
        path: "/dsp/catalog/request",
        message: "CatalogRequestMessage",
        error: CATALOG_ERROR,
        rule: Rule::Catalog,
    },
    Endpoint {
        path: "/dsp/negotiations/request",
        message: "ContractRequestMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::InitialRequest,
    },
    Endpoint {
        path: "/dsp/negotiations/{pid}/request",
        message: "ContractRequestMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Provider, Content::Offer),
    },
    Endpoint {
        path: "/dsp/negotiations/{pid}/events",
        message: "ContractNegotiationEventMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Provider, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/negotiations/{pid}/agreement/verification",
        message: "ContractAgreementVerificationMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Provider, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/negotiations/{pid}/termination",
        message: "ContractNegotiationTerminationMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Provider, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/negotiations/offers",
        message: "ContractOfferMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::InitialOffer,
    },
    Endpoint {
        path: "/dsp/callback/negotiations/{pid}/offers",
        message: "ContractOfferMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Offer),
    },
    Endpoint {
        path: "/dsp/callback/negotiations/{pid}/agreement",
        message: "ContractAgreementMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/callback/negotiations/{pid}/events",
        message: "ContractNegotiationEventMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/callback/negotiations/{pid}/termination",
        message: "ContractNegotiationTerminationMessage",
        error: NEGOTIATION_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/transfers/request",
        message: "TransferRequestMessage",
        error: TRANSFER_ERROR,
        rule: Rule::TransferRequest,
    },
    Endpoint {
        path: "/dsp/transfers/{pid}/start",
        message: "TransferStartMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Provider, Content::Address),
    },
    Endpoint {
        path: "/dsp/transfers/{pid}/completion",
        message: "TransferCompletionMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Provider, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/transfers/{pid}/termination",
        message: "TransferTerminationMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Provider, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/transfers/{pid}/suspension",
        message: "TransferSuspensionMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Provider, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/callback/transfers/{pid}/start",
        message: "TransferStartMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Address),
    },
    Endpoint {
        path: "/dsp/callback/transfers/{pid}/completion",
        message: "TransferCompletionMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/callback/transfers/{pid}/termination",
        message: "TransferTerminationMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Nothing),
    },
    Endpoint {
        path: "/dsp/callback/transfers/{pid}/suspension",
        message: "TransferSuspensionMessage",
        error: TRANSFER_ERROR,
        rule: Rule::Process(Own::Consumer, Content::Nothing),
    },
];

/// The one answer an input must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expected {
    /// 400 with the endpoint's error message; nothing stored.
    Refused,
    /// 404 with the endpoint's error message: well-formed, about a process the caller has no
    /// access to (none of the store's processes is the fuzzer's); nothing stored.
    NoSuchProcess,
    /// 200 with a `Catalog`: a catalog request whose filters are all of the documented form.
    Catalog,
    /// 201 with a `ContractNegotiation` in `OFFERED`: a well-formed initial offer; the store
    /// gains exactly that negotiation.
    OfferTaken,
}

/// The documented filter form (`crates/engine/src/catalog.rs`): `{"operandLeft": string,
/// "operator": "=" | "in" | "like", "operandRight": string or array of strings}`, optionally
/// with `@type`, nothing else.
fn documented_filter(filter: &Value) -> bool {
    let Some(object) = filter.as_object() else {
        return false;
    };
    let left = object.get("operandLeft").is_some_and(Value::is_string);
    let operator = matches!(
        object.get("operator").and_then(Value::as_str),
        Some("=" | "in" | "like")
    );
    let right = match object.get("operandRight") {
        Some(Value::String(_)) => true,
        Some(Value::Array(items)) => items.iter().all(Value::is_string),
        _ => false,
    };
    let only_known = object.keys().all(|key| {
        matches!(
            key.as_str(),
            "operandLeft" | "operator" | "operandRight" | "@type"
        )
    });
    left && operator && right && only_known
}

fn offer_readable(offer: &Value) -> bool {
    tsunagu_policy::Policy::from_json(offer).is_ok_and(|policy| policy.uid.is_some())
}

fn address_acceptable(address: Option<&wire::DataAddress>) -> bool {
    let Some(address) = address else {
        return true;
    };
    address.endpoint_type == wire::DataAddress::HTTP
        && address.endpoint.is_some()
        && address
            .property("authType")
            .is_none_or(|kind| kind.eq_ignore_ascii_case("bearer"))
}

fn http_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The answer a message of type `M` about process `path_pid` must get: parse as the endpoint
/// does, compare the process ids, make the content check, then it is a lookup.
fn process_expectation<M: DspMessage>(
    body: &[u8],
    path_pid: &str,
    own_pid: impl Fn(&M) -> String,
    content_ok: impl Fn(&M) -> bool,
) -> Expected {
    match wire::parse::<M>(body) {
        Err(_) => Expected::Refused,
        Ok(message) if own_pid(&message) != path_pid => Expected::Refused,
        Ok(message) if !content_ok(&message) => Expected::Refused,
        Ok(_) => Expected::NoSuchProcess,
    }
}

fn expected(endpoint: &Endpoint, path_pid: &str, body: &[u8]) -> Expected {
    match endpoint.rule {
        Rule::Catalog => match wire::parse::<wire::CatalogRequestMessage>(body) {
            Ok(message) if message.filter.iter().all(documented_filter) => Expected::Catalog,
            _ => Expected::Refused,
        },
        // Whether or not it parses: no offer id the inputs carry names a contract definition
        // of this provider (the store's is `open-to-all`), and no agreement is the fuzzer's.
        Rule::InitialRequest | Rule::TransferRequest => Expected::Refused,
        Rule::InitialOffer => match wire::parse::<wire::ContractOfferMessage>(body) {
            Ok(message)
                if message.consumer_pid.is_none()
                    && offer_readable(&message.offer)
                    && message.callback_address.as_deref().is_some_and(http_url) =>
            {
                Expected::OfferTaken
            }
            _ => Expected::Refused,
        },
        Rule::Process(own, content) => {
            let pick = |provider: &str, consumer: &str| match own {
                Own::Provider => provider.to_owned(),
                Own::Consumer => consumer.to_owned(),
            };
            match endpoint.message {
                "ContractRequestMessage" => process_expectation::<wire::ContractRequestMessage>(
                    body,
                    path_pid,
                    |m| {
                        pick(
                            m.provider_pid.as_deref().unwrap_or_default(),
                            &m.consumer_pid,
                        )
                    },
                    |m| !matches!(content, Content::Offer) || offer_readable(&m.offer),
                ),
                "ContractOfferMessage" => process_expectation::<wire::ContractOfferMessage>(
                    body,
                    path_pid,
                    |m| {
                        pick(
                            &m.provider_pid,
                            m.consumer_pid.as_deref().unwrap_or_default(),
                        )
                    },
                    |m| !matches!(content, Content::Offer) || offer_readable(&m.offer),
                ),
                "ContractNegotiationEventMessage" => {
                    process_expectation::<wire::ContractNegotiationEventMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                "ContractAgreementVerificationMessage" => {
                    process_expectation::<wire::ContractAgreementVerificationMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                "ContractNegotiationTerminationMessage" => {
                    process_expectation::<wire::ContractNegotiationTerminationMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                "ContractAgreementMessage" => {
                    process_expectation::<wire::ContractAgreementMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                "TransferStartMessage" => process_expectation::<wire::TransferStartMessage>(
                    body,
                    path_pid,
                    |m| pick(&m.provider_pid, &m.consumer_pid),
                    |m| {
                        !matches!(content, Content::Address)
                            || address_acceptable(m.data_address.as_ref())
                    },
                ),
                "TransferCompletionMessage" => {
                    process_expectation::<wire::TransferCompletionMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                "TransferTerminationMessage" => {
                    process_expectation::<wire::TransferTerminationMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                "TransferSuspensionMessage" => {
                    process_expectation::<wire::TransferSuspensionMessage>(
                        body,
                        path_pid,
                        |m| pick(&m.provider_pid, &m.consumer_pid),
                        |_| true,
                    )
                }
                other => unreachable!("no process endpoint takes {other}"),
            }
        }
    }
}

/// Everything the store holds about processes, to tell whether a request changed it.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    negotiations: Vec<Value>,
    transfers: Vec<Value>,
    agreements: usize,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    connector: Connector,
    schemas: DspSchemas,
    /// The process ids the generator draws from: the store's own and unknown ones.
    pids: Vec<String>,
    /// The official examples of DSP messages (not the catalog or version documents).
    examples: Vec<Value>,
    /// How often each endpoint got each kind of answer, to show that the inputs reach past
    /// the parser.
    outcomes: std::sync::Mutex<std::collections::BTreeMap<(&'static str, Expected), usize>>,
    _directory: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Harness {
    /// A provider with a catalog, one finalized negotiation and one started transfer of
    /// `CONSUMER`, all made through the public router.
    fn new() -> Option<Harness> {
        let spec = tsunagu_testkit::require_spec()?;
        let schemas = DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile");
        let examples = tsunagu_testkit::dsp_examples(&spec)
            .into_iter()
            .map(|(_, example)| example)
            .filter(|example| {
                example
                    .get("@type")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind.ends_with("Message"))
            })
            .collect::<Vec<_>>();
        assert_eq!(examples.len(), 16, "the bundle's message examples changed");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let directory = tempfile::tempdir().unwrap();
        let (router, connector, pids) = runtime.block_on(async {
            let store = SqliteStore::open(&directory.path().join("fuzz.sqlite"))
                .await
                .unwrap();
            let settings = Settings::new(
                PROVIDER.into(),
                "http://127.0.0.1:9/dsp".into(),
                "http://127.0.0.1:9/data".into(),
            );
            let connector = Connector::new(
                Arc::new(store),
                Arc::new(tsunagu_testkit::UnreachablePeer),
                settings,
            );
            publish(&connector).await;
            let router = public_router(AppState {
                connector: connector.clone(),
                authenticator: Arc::new(DevHeaderAuthenticator),
                management_api_key: "unused".into(),
            });
            let pids = seed_processes(&router, &connector).await;
            (router, connector, pids)
        });
        Some(Harness {
            runtime,
            router,
            connector,
            schemas,
            pids,
            examples,
            outcomes: Default::default(),
            _directory: directory,
        })
    }

    fn snapshot(&self) -> Snapshot {
        self.runtime.block_on(async {
            let negotiations = self.connector.negotiations(Page::ALL).await.unwrap();
            let transfers = self.connector.transfers(Page::ALL).await.unwrap();
            let agreements = self
                .connector
                .store()
                .agreements(Page::ALL)
                .await
                .unwrap()
                .len();
            Snapshot {
                negotiations: negotiations
                    .iter()
                    .map(|n| serde_json::to_value(n).unwrap())
                    .collect(),
                transfers: transfers
                    .iter()
                    .map(|t| serde_json::to_value(t).unwrap())
                    .collect(),
                agreements,
            }
        })
    }

    fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(CallerIdentityHeaders::PARTICIPANT, FUZZER)
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            Answer {
                status,
                body: body.to_vec(),
            }
        })
    }

    /// Sends `body` to `endpoint` about `path_pid` and checks the answer against the oracle.
    fn check(
        &self,
        endpoint: &Endpoint,
        path_pid: &str,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let path = endpoint.path.replace("{pid}", path_pid);
        let expected = expected(endpoint, path_pid, &body);
        *self
            .outcomes
            .lock()
            .unwrap()
            .entry((endpoint.path, expected))
            .or_default() += 1;
        let before = self.snapshot();
        let content_type = if serde_json::from_slice::<Value>(&body).is_ok() {
            "application/json"
        } else {
            "application/octet-stream"
        };
        let input = String::from_utf8_lossy(&body).into_owned();
        let answer = self.post(&path, content_type, body);
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        let (status, kind) = match expected {
            Expected::Refused => (StatusCode::BAD_REQUEST, endpoint.error),
            Expected::NoSuchProcess => (StatusCode::NOT_FOUND, endpoint.error),
            Expected::Catalog => (StatusCode::OK, "Catalog"),
            Expected::OfferTaken => (StatusCode::CREATED, "ContractNegotiation"),
        };
        prop_assert_eq!(
            answer.status,
            status,
            "POST {} expected {:?}\n  input: {}\n  answer: {}",
            path,
            expected,
            input,
            text
        );
        let json: Value = serde_json::from_slice(&answer.body).map_err(|error| {
            TestCaseError::fail(format!(
                "POST {path}: the answer is not JSON ({error}): {text}"
            ))
        })?;
        prop_assert_eq!(&json["@type"], kind, "POST {}: {}", path, text);
        if let Err(errors) = self.schemas.validate_message(&json) {
            return Err(TestCaseError::fail(format!(
                "POST {path}: the answer does not validate:\n  {}\n  answer: {text}\n  input: {input}",
                errors.join("\n  ")
            )));
        }
        let after = self.snapshot();
        if expected == Expected::OfferTaken {
            // Exactly one new negotiation, the fuzzer's, and nothing else touched.
            prop_assert_eq!(json["state"].as_str(), Some("OFFERED"));
            prop_assert_eq!(after.negotiations.len(), before.negotiations.len() + 1);
            prop_assert_eq!(&after.transfers, &before.transfers);
            let mut rest = after.negotiations.clone();
            rest.retain(|n| n["counter_party_id"] != FUZZER);
            let mut earlier = before.negotiations.clone();
            earlier.retain(|n| n["counter_party_id"] != FUZZER);
            prop_assert_eq!(rest, earlier);
        } else {
            prop_assert_eq!(
                &after,
                &before,
                "POST {} was answered {} but changed the store\n  input: {}",
                path,
                answer.status,
                input
            );
        }
        Ok(())
    }
}

async fn publish(connector: &Connector) {
    let mut properties = Map::new();
    properties.insert("name".into(), json!("Cathode batch 7 carbon footprint"));
    connector
        .create_asset(NewAssetRequest {
            id: Some("asset-1".into()),
            properties,
            http_source: None,
            media_type: Some("application/json".into()),
        })
        .await
        .unwrap();
    connector
        .create_policy_definition(NewPolicyDefinition {
            id: Some("open".into()),
            policy: json!({"@type": "Set", "permission": [{"action": "use"}]}),
        })
        .await
        .unwrap();
    connector
        .create_contract_definition(NewContractDefinition {
            id: Some("open-to-all".into()),
            access_policy_id: "open".into(),
            contract_policy_id: "open".into(),
            assets: AssetSelector::All,
        })
        .await
        .unwrap();
}

async fn post_as_consumer(router: &Router, path: &str, body: Value) -> Value {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(CallerIdentityHeaders::PARTICIPANT, CONSUMER)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "seeding POST {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

/// Negotiates and starts a transfer as `CONSUMER`; returns every process id involved plus
/// a few unknown ones.
async fn seed_processes(router: &Router, connector: &Connector) -> Vec<String> {
    let catalog = post_as_consumer(
        router,
        "/dsp/catalog/request",
        json!({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
    )
    .await;
    let mut offer = catalog["dataset"][0]["hasPolicy"][0].clone();
    offer["target"] = json!("asset-1");
    let negotiation = post_as_consumer(
        router,
        "/dsp/negotiations/request",
        json!({
            "@context": [DSP_CONTEXT],
            "@type": "ContractRequestMessage",
            "consumerPid": SEEDED_CONSUMER_PID,
            "offer": offer,
            "callbackAddress": CONSUMER_CALLBACK,
        }),
    )
    .await;
    let provider_pid = negotiation["providerPid"].as_str().unwrap().to_owned();
    let finalized = post_as_consumer(
        router,
        &format!("/dsp/negotiations/{provider_pid}/agreement/verification"),
        json!({
            "@context": [DSP_CONTEXT],
            "@type": "ContractAgreementVerificationMessage",
            "providerPid": provider_pid,
            "consumerPid": SEEDED_CONSUMER_PID,
        }),
    )
    .await;
    assert_eq!(finalized["state"], "FINALIZED");
    // Without workers the agreement message is never sent; read its id from the record.
    let agreement_id = connector
        .negotiation(&provider_pid)
        .await
        .unwrap()
        .agreement
        .expect("the provider agreed")
        .id;
    let transfer = post_as_consumer(
        router,
        "/dsp/transfers/request",
        json!({
            "@context": [DSP_CONTEXT],
            "@type": "TransferRequestMessage",
            "consumerPid": SEEDED_TRANSFER_CONSUMER_PID,
            "agreementId": agreement_id,
            "format": "HttpData-PULL",
            "callbackAddress": CONSUMER_CALLBACK,
        }),
    )
    .await;
    let transfer_provider_pid = transfer["providerPid"].as_str().unwrap().to_owned();
    vec![
        provider_pid,
        SEEDED_CONSUMER_PID.to_owned(),
        transfer_provider_pid,
        SEEDED_TRANSFER_CONSUMER_PID.to_owned(),
        "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab".to_owned(),
        "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833".to_owned(),
        "unknown-process".to_owned(),
    ]
}

// ----- Inputs -----

/// Stands for the harness's process id number N in generated JSON (`$pid0` ... `$pid6`), so
/// that generated messages name real processes as well as unknown ones.
const PID_PLACEHOLDERS: [&str; 7] = [
    "$pid0", "$pid1", "$pid2", "$pid3", "$pid4", "$pid5", "$pid6",
];

/// Keys of the protocol's messages, so that generated objects reach past the first check.
const KEYS: &[&str] = &[
    "@context",
    "@type",
    "@id",
    "consumerPid",
    "providerPid",
    "offer",
    "callbackAddress",
    "agreement",
    "agreementId",
    "eventType",
    "code",
    "reason",
    "format",
    "dataAddress",
    "endpointType",
    "endpoint",
    "endpointProperties",
    "name",
    "value",
    "filter",
    "dataset",
    "target",
    "permission",
    "prohibition",
    "obligation",
    "action",
    "constraint",
    "leftOperand",
    "operator",
    "rightOperand",
    "assigner",
    "assignee",
    "timestamp",
    "state",
    "operandLeft",
    "operandRight",
];

/// Values of the protocol's messages, and a few that are nearly right.
const WORDS: &[&str] = &[
    DSP_CONTEXT,
    "https://w3id.org/dspace/2024/1/context.jsonld",
    "CatalogRequestMessage",
    "ContractRequestMessage",
    "ContractOfferMessage",
    "ContractAgreementMessage",
    "ContractAgreementVerificationMessage",
    "ContractNegotiationEventMessage",
    "ContractNegotiationTerminationMessage",
    "TransferRequestMessage",
    "TransferStartMessage",
    "TransferCompletionMessage",
    "TransferTerminationMessage",
    "TransferSuspensionMessage",
    "ContractNegotiation",
    "TransferProcess",
    "Offer",
    "Agreement",
    "Set",
    "DataAddress",
    "EndpointProperty",
    "ACCEPTED",
    "FINALIZED",
    "accepted",
    "REQUESTED",
    "use",
    "eq",
    "=",
    "in",
    "like",
    "purpose",
    "cfp",
    "id",
    "asset-1",
    "HttpData-PULL",
    "HttpData-PUSH",
    "https://w3id.org/idsa/v4.1/HTTP",
    "https://cells.example/dsp/callback",
    "HTTP://CELLS.EXAMPLE/CB",
    "ftp://cells.example/inbox",
    "bearer",
    "Basic",
    "authorization",
    "authType",
    "2025-01-01T00:00:00Z",
    "$pid0",
    "$pid1",
    "$pid2",
    "$pid3",
    "$pid4",
    "$pid5",
    "$pid6",
    "",
    " ",
    "\u{0}",
    "🔋",
    "a/b?c#d",
];

const MESSAGE_TYPES: &[&str] = &[
    "CatalogRequestMessage",
    "ContractRequestMessage",
    "ContractOfferMessage",
    "ContractAgreementMessage",
    "ContractAgreementVerificationMessage",
    "ContractNegotiationEventMessage",
    "ContractNegotiationTerminationMessage",
    "TransferRequestMessage",
    "TransferStartMessage",
    "TransferCompletionMessage",
    "TransferTerminationMessage",
    "TransferSuspensionMessage",
];

fn word() -> BoxedStrategy<String> {
    prop_oneof![
        5 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        5 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
    .boxed()
}

fn pid() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::sample::select(&PID_PLACEHOLDERS[..]).prop_map(Value::from),
        1 => word().prop_map(Value::from),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::from),
    ]
    .boxed()
}

/// Any JSON, biased towards the protocol's keys and values.
fn any_json() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Mostly the intended value, sometimes junk.
fn mostly(intended: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![8 => intended, 1 => any_json()].boxed()
}

/// An ODRL policy as offers and agreements carry it, with arbitrary parts.
/// An ODRL policy of `@type` `kind` as offers and agreements carry it, with arbitrary parts.
fn policy_like(kind: &'static str) -> BoxedStrategy<Value> {
    let constraint = mostly(
        prop::sample::select(
            &[
                ("purpose", "eq", "cfp"),
                ("role", "eq", "cellMaker"),
                ("dateTime", "lteq", "2030-01-01T00:00:00Z"),
                ("count", "lteq", "5"),
                ("purpose", "isAnyOf", "cfp"),
            ][..],
        )
        .prop_map(|(left, operator, right)| {
            json!({"leftOperand": left, "operator": operator, "rightOperand": right})
        })
        .boxed(),
    );
    let rule = (
        mostly(Just(json!("use")).boxed()),
        prop::collection::vec(constraint, 0..3),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(action, constraints, with_target)| {
            let mut rule = json!({"action": action});
            if !constraints.is_empty() {
                rule["constraint"] = Value::Array(constraints);
            }
            if with_target {
                rule["target"] = json!("asset-1");
            }
            rule
        });
    (
        mostly(
            prop::sample::select(&["urn:uuid:offer-1", "Y2Zw:YXNzZXQtMQ:bm9uY2U", ""][..])
                .prop_map(Value::from)
                .boxed(),
        ),
        mostly(
            prop_oneof![
                4 => Just(kind),
                1 => prop::sample::select(&["Offer", "Agreement", "Set"][..]),
            ]
            .prop_map(Value::from)
            .boxed(),
        ),
        prop::option::weighted(0.9, mostly(Just(json!("asset-1")).boxed())),
        prop::collection::vec(rule, 0..3),
        prop::option::weighted(0.9, mostly(Just(json!(PROVIDER)).boxed())),
        prop::option::weighted(0.9, mostly(Just(json!(FUZZER)).boxed())),
        prop::option::weighted(0.9, mostly(Just(json!("2025-01-01T00:00:00Z")).boxed())),
    )
        .prop_map(|(id, kind, target, rules, assigner, assignee, timestamp)| {
            let mut policy = json!({"@id": id, "@type": kind, "permission": rules});
            for (name, value) in [
                ("target", target),
                ("assigner", assigner),
                ("assignee", assignee),
                ("timestamp", timestamp),
            ] {
                if let Some(value) = value {
                    policy[name] = value;
                }
            }
            policy
        })
        .boxed()
}

fn data_address_like() -> BoxedStrategy<Value> {
    let property = (
        mostly(Just(json!("EndpointProperty")).boxed()),
        mostly(
            prop::sample::select(&["authorization", "authType"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
        mostly(
            prop::sample::select(&["bearer", "token-123", "Basic"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
    )
        .prop_map(|(kind, name, value)| json!({"@type": kind, "name": name, "value": value}));
    (
        mostly(Just(json!("DataAddress")).boxed()),
        mostly(
            prop::sample::select(&[wire::DataAddress::HTTP, "https://w3id.org/idsa/v4.1/FTP"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
        prop::option::of(mostly(
            Just(json!("https://cells.example/data/inbox/1")).boxed(),
        )),
        prop::collection::vec(property, 0..3),
    )
        .prop_map(|(kind, endpoint_type, endpoint, properties)| {
            let mut address = json!({"@type": kind, "endpointType": endpoint_type});
            if let Some(endpoint) = endpoint {
                address["endpoint"] = endpoint;
            }
            if !properties.is_empty() {
                address["endpointProperties"] = Value::Array(properties);
            }
            address
        })
        .boxed()
}

fn filter_like() -> BoxedStrategy<Value> {
    let criterion = (
        mostly(prop::sample::select(&["id", "name", "https://w3id.org/edc/v0.0.1/ns/id"][..])
            .prop_map(Value::from)
            .boxed()),
        mostly(prop::sample::select(&["=", "in", "like", "~"][..]).prop_map(Value::from).boxed()),
        mostly(prop::sample::select(&["asset-1", "asset-%"][..]).prop_map(Value::from).boxed()),
    )
        .prop_map(|(left, operator, right)| {
            json!({"operandLeft": left, "operator": operator, "operandRight": right})
        });
    prop::collection::vec(criterion, 0..3)
        .prop_map(Value::Array)
        .boxed()
}

/// The plausible value of each field a message may have.
fn field_value(field: &str) -> BoxedStrategy<Value> {
    match field {
        "consumerPid" | "providerPid" => pid(),
        "agreementId" => mostly(word().prop_map(Value::from).boxed()),
        "callbackAddress" => mostly(
            prop::sample::select(
                &[
                    "https://cells.example/dsp/callback",
                    "http://127.0.0.1:1/cb/",
                    "ftp://cells.example",
                    "",
                ][..],
            )
            .prop_map(Value::from)
            .boxed(),
        ),
        "offer" => mostly(policy_like("Offer")),
        "agreement" => mostly(policy_like("Agreement")),
        "dataAddress" => mostly(data_address_like()),
        "eventType" => mostly(
            prop::sample::select(&["ACCEPTED", "FINALIZED", "accepted"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
        "format" => mostly(
            prop::sample::select(&["HttpData-PULL", "HttpData-PUSH", "example:HTTP_PUSH"][..])
                .prop_map(Value::from)
                .boxed(),
        ),
        "code" => mostly(word().prop_map(Value::from).boxed()),
        "reason" => mostly(
            prop::collection::vec(word().prop_map(Value::from), 0..3)
                .prop_map(Value::Array)
                .boxed(),
        ),
        "filter" => mostly(filter_like()),
        _ => any_json(),
    }
}

/// The fields a message of `kind` has, required or optional.
fn fields_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "CatalogRequestMessage" => &["filter"],
        "ContractRequestMessage" => &["consumerPid", "providerPid", "offer", "callbackAddress"],
        "ContractOfferMessage" => &["providerPid", "consumerPid", "offer", "callbackAddress"],
        "ContractAgreementMessage" => &["providerPid", "consumerPid", "agreement"],
        "ContractNegotiationEventMessage" => &["providerPid", "consumerPid", "eventType"],
        "ContractNegotiationTerminationMessage"
        | "TransferTerminationMessage"
        | "TransferSuspensionMessage" => &["providerPid", "consumerPid", "code", "reason"],
        "TransferRequestMessage" => &[
            "consumerPid",
            "agreementId",
            "format",
            "dataAddress",
            "callbackAddress",
        ],
        "TransferStartMessage" => &["providerPid", "consumerPid", "dataAddress"],
        _ => &["providerPid", "consumerPid"],
    }
}

/// How often a field is present: a field that is one of two alternatives (the callback address
/// of an initial message, the counter-party's process id of a later one) half of the time,
/// any other most of the time.
fn presence(kind: &str, field: &str) -> f64 {
    match (kind, field) {
        ("ContractRequestMessage", "providerPid" | "callbackAddress")
        | ("ContractOfferMessage", "consumerPid" | "callbackAddress") => 0.5,
        _ => 0.9,
    }
}

/// An object shaped like a message of `kind`: each field present with a plausible value,
/// absent, or junk; `@context` and `@type` mostly right; sometimes extra keys.
fn message_like(kind: &'static str) -> BoxedStrategy<Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = fields_of(kind)
        .iter()
        .map(|field| {
            prop::option::weighted(presence(kind, field), field_value(field))
                .prop_map(move |value| value.map(|value| ((*field).to_owned(), value)))
                .boxed()
        })
        .collect();
    let context = prop_oneof![
        10 => Just(Some(json!([DSP_CONTEXT]))),
        1 => Just(Some(json!(DSP_CONTEXT))),
        1 => Just(None),
        1 => any_json().prop_map(Some),
    ];
    let kind_value = prop_oneof![
        10 => Just(json!(kind)),
        1 => prop::sample::select(MESSAGE_TYPES).prop_map(Value::from),
        1 => any_json(),
    ];
    (
        context,
        prop::option::weighted(0.95, kind_value),
        fields,
        prop::collection::vec((key(), any_json()), 0..3),
    )
        .prop_map(|(context, kind, fields, extras)| {
            let mut message = Map::new();
            if let Some(context) = context {
                message.insert("@context".into(), context);
            }
            if let Some(kind) = kind {
                message.insert("@type".into(), kind);
            }
            for (name, value) in fields.into_iter().flatten() {
                message.insert(name, value);
            }
            for (name, value) in extras {
                message.insert(name, value);
            }
            Value::Object(message)
        })
        .boxed()
}

/// One change to an official example.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove one top-level member (a required one as often as not).
    DropMember(Index),
    /// Give one top-level member a value of another shape.
    ReplaceMember(Index, Value),
    /// Claim another message type, or none.
    SetType(Option<Value>),
    /// Remove `@context`, or make it a string, an empty array or another context.
    BreakContext(u8),
    /// Remove or replace something nested (inside the offer, agreement, data address).
    DropNested(Index),
    ReplaceNested(Index, Value),
    AddMember(String, Value),
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        3 => any::<Index>().prop_map(Mutation::DropMember),
        3 => (any::<Index>(), any_json()).prop_map(|(i, v)| Mutation::ReplaceMember(i, v)),
        2 => prop::option::of(prop_oneof![
            prop::sample::select(MESSAGE_TYPES).prop_map(Value::from),
            any_json(),
        ])
        .prop_map(Mutation::SetType),
        2 => (0u8..4).prop_map(Mutation::BreakContext),
        3 => any::<Index>().prop_map(Mutation::DropNested),
        3 => (any::<Index>(), any_json()).prop_map(|(i, v)| Mutation::ReplaceNested(i, v)),
        1 => (key(), any_json()).prop_map(|(k, v)| Mutation::AddMember(k, v)),
    ]
    .boxed()
}

/// The JSON pointers of every member and element below the top level.
fn nested_pointers(value: &Value, at: &str, depth: usize, found: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(object) => object
            .iter()
            .map(|(key, child)| (key.replace('~', "~0").replace('/', "~1"), child))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, child)| (index.to_string(), child))
            .collect(),
        _ => return,
    };
    for (name, child) in children {
        let pointer = format!("{at}/{name}");
        if depth > 0 {
            found.push(pointer.clone());
        }
        nested_pointers(child, &pointer, depth + 1, found);
    }
}

fn remove_at(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(index) = last.parse::<usize>()
                && index < items.len()
            {
                items.remove(index);
            }
        }
        _ => {}
    }
}

fn apply(message: &mut Value, change: &Mutation) {
    let Some(object) = message.as_object_mut() else {
        return;
    };
    let keys: Vec<String> = object.keys().cloned().collect();
    match change {
        Mutation::DropMember(index) if !keys.is_empty() => {
            object.remove(&keys[index.index(keys.len())]);
        }
        Mutation::ReplaceMember(index, value) if !keys.is_empty() => {
            object.insert(keys[index.index(keys.len())].clone(), value.clone());
        }
        Mutation::SetType(Some(kind)) => {
            object.insert("@type".into(), kind.clone());
        }
        Mutation::SetType(None) => {
            object.remove("@type");
        }
        Mutation::BreakContext(how) => {
            match how {
                0 => object.remove("@context"),
                1 => object.insert("@context".into(), json!(DSP_CONTEXT)),
                2 => object.insert("@context".into(), json!([])),
                _ => object.insert(
                    "@context".into(),
                    json!(["https://w3id.org/dspace/2024/1/context.jsonld"]),
                ),
            };
        }
        Mutation::DropNested(index) | Mutation::ReplaceNested(index, _) => {
            let mut pointers = Vec::new();
            nested_pointers(message, "", 0, &mut pointers);
            if pointers.is_empty() {
                return;
            }
            let pointer = &pointers[index.index(pointers.len())];
            match change {
                Mutation::ReplaceNested(_, value) => {
                    if let Some(target) = message.pointer_mut(pointer) {
                        *target = value.clone();
                    }
                }
                _ => remove_at(message, pointer),
            }
        }
        Mutation::AddMember(key, value) => {
            object.insert(key.clone(), value.clone());
        }
        _ => {}
    }
}

/// Bytes that are not a JSON message, or not JSON at all.
#[derive(Debug, Clone)]
enum Raw {
    Bytes(Vec<u8>),
    Text(String),
    /// An official example cut short.
    Truncated(Index, Index),
    /// An official example with one byte overwritten (often making it invalid UTF-8).
    Corrupted(Index, Index, u8),
}

fn raw() -> BoxedStrategy<Raw> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Raw::Bytes),
        1 => prop::sample::select(&[
            "", "{", "}", "[]", "null", "true", "0", "\"ContractRequestMessage\"", "{\"@type\":",
            "{\"@context\": [\"https://w3id.org/dspace/2025/1/context.jsonld\"]}",
            "\u{feff}{}", "{\"a\":1}{\"b\":2}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        ][..])
        .prop_map(|text| Raw::Text(text.to_owned())),
        1 => any::<String>().prop_map(Raw::Text),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(e, at)| Raw::Truncated(e, at)),
        2 => (any::<Index>(), any::<Index>(), any::<u8>()).prop_map(|(e, at, b)| Raw::Corrupted(e, at, b)),
    ]
    .boxed()
}

/// Replaces the `$pidN` placeholders with the harness's process ids.
fn resolve_pids(value: &mut Value, pids: &[String]) {
    match value {
        Value::String(text) => {
            if let Some(index) = PID_PLACEHOLDERS.iter().position(|p| p == text) {
                *text = pids[index].clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| resolve_pids(item, pids)),
        Value::Object(object) => object
            .values_mut()
            .for_each(|item| resolve_pids(item, pids)),
        _ => {}
    }
}

/// Characters a process id may have to be put in the path as it is.
fn path_safe(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '.' | '_' | '~'))
}

/// The process id to put in the path: the one the message names for the receiving side (so
/// that the lookup is reached) or one from the pool.
fn path_pid(
    harness: &Harness,
    endpoint: &Endpoint,
    message: Option<&Value>,
    use_own: bool,
    pool: Index,
) -> String {
    let from_pool = harness.pids[pool.index(harness.pids.len())].clone();
    let Rule::Process(own, _) = endpoint.rule else {
        return from_pool;
    };
    let key = match own {
        Own::Provider => "providerPid",
        Own::Consumer => "consumerPid",
    };
    match message.and_then(|m| m.get(key)).and_then(Value::as_str) {
        Some(pid) if use_own && path_safe(pid) => pid.to_owned(),
        _ => from_pool,
    }
}

// ----- Running -----

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    }
}

/// Runs `strategy` against every endpoint and fails with every endpoint's minimal failure.
fn for_every_endpoint<S: Strategy>(
    harness: &Harness,
    strategy: impl Fn(&Endpoint) -> S,
    case: impl Fn(&Harness, &Endpoint, S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut failures = Vec::new();
    for endpoint in &ENDPOINTS {
        let mut runner = TestRunner::new(config());
        if let Err(error) = runner.run(&strategy(endpoint), |input| case(harness, endpoint, input))
        {
            failures.push(format!("{}: {error}", endpoint.path));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // What the inputs reached, shown with --nocapture.
    let mut reached: std::collections::BTreeMap<Expected, usize> = Default::default();
    for ((_, outcome), count) in harness.outcomes.lock().unwrap().iter() {
        *reached.entry(*outcome).or_default() += count;
    }
    let only_refused: Vec<&str> = ENDPOINTS
        .iter()
        .map(|endpoint| endpoint.path)
        .filter(|path| {
            harness
                .outcomes
                .lock()
                .unwrap()
                .iter()
                .all(|((at, outcome), _)| at != path || *outcome == Expected::Refused)
        })
        .collect();
    eprintln!("answers the inputs called for: {reached:?}; only refusals at {only_refused:?}");
}

#[test]
fn arbitrary_json_gets_a_clean_answer_from_every_endpoint() {
    let Some(harness) = Harness::new() else {
        return;
    };
    for_every_endpoint(
        &harness,
        |endpoint| {
            (
                prop_oneof![1 => any_json(), 3 => message_like(endpoint.message)],
                any::<bool>(),
                any::<Index>(),
            )
        },
        |harness, endpoint, (mut message, use_own, pool)| {
            resolve_pids(&mut message, &harness.pids);
            let pid = path_pid(harness, endpoint, Some(&message), use_own, pool);
            harness.check(endpoint, &pid, message.to_string().into_bytes())
        },
    );
}

/// Replaces the value of `key` in `message` by `pid`.
fn with_pid(message: &Value, key: &str, pid: &str) -> Value {
    let mut message = message.clone();
    message[key] = json!(pid);
    message
}

#[test]
fn official_examples_get_the_answer_the_binding_names() {
    // Every endpoint, with each official example of its message: as it is (naming a process
    // nobody has), naming another participant's real process, and sent to another process's
    // path. This pins, for every endpoint, the answers the generated inputs reach only by
    // chance.
    let Some(harness) = Harness::new() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for endpoint in &ENDPOINTS {
        let examples: Vec<&Value> = harness
            .examples
            .iter()
            .filter(|e| e["@type"] == endpoint.message)
            .collect();
        assert!(!examples.is_empty(), "no example for {}", endpoint.path);
        for example in examples {
            let mut cases: Vec<(String, Value, Expected)> = Vec::new();
            match endpoint.rule {
                Rule::Process(own, _) => {
                    let (key, real) = match (own, endpoint.message.starts_with("Transfer")) {
                        (Own::Provider, false) => ("providerPid", &harness.pids[0]),
                        (Own::Consumer, false) => ("consumerPid", &harness.pids[1]),
                        (Own::Provider, true) => ("providerPid", &harness.pids[2]),
                        (Own::Consumer, true) => ("consumerPid", &harness.pids[3]),
                    };
                    // An example written for the initial message (an offer without
                    // consumerPid, a request without providerPid) names no process here.
                    let Some(own_pid) = example.get(key).and_then(Value::as_str) else {
                        continue;
                    };
                    cases.push((own_pid.to_owned(), example.clone(), Expected::NoSuchProcess));
                    cases.push((
                        real.clone(),
                        with_pid(example, key, real),
                        Expected::NoSuchProcess,
                    ));
                    cases.push(("unknown-process".into(), example.clone(), Expected::Refused));
                }
                Rule::Catalog => cases.push((String::new(), example.clone(), Expected::Catalog)),
                Rule::InitialOffer => {
                    let taken = if example.get("consumerPid").is_some() {
                        Expected::Refused
                    } else {
                        Expected::OfferTaken
                    };
                    cases.push((String::new(), example.clone(), taken));
                }
                Rule::InitialRequest | Rule::TransferRequest => {
                    cases.push((String::new(), example.clone(), Expected::Refused));
                }
            }
            for (pid, message, wanted) in cases {
                let body = message.to_string().into_bytes();
                let oracle = expected(endpoint, &pid, &body);
                assert_eq!(oracle, wanted, "{} with {message}", endpoint.path);
                checked += 1;
                if let Err(error) = harness.check(endpoint, &pid, body) {
                    failures.push(format!("{}: {error}", endpoint.path));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(checked, 57, "cases checked");
}

#[test]
fn mutated_official_examples_get_a_clean_answer_from_every_endpoint() {
    let Some(harness) = Harness::new() else {
        return;
    };
    for_every_endpoint(
        &harness,
        |_| {
            (
                any::<Index>(),
                prop::bool::weighted(0.75),
                prop::collection::vec(mutation(), 0..4),
                any::<bool>(),
                any::<Index>(),
            )
        },
        |harness, endpoint, (example, same_type, changes, use_own, pool)| {
            let same: Vec<&Value> = harness
                .examples
                .iter()
                .filter(|e| e["@type"] == endpoint.message)
                .collect();
            let candidates: Vec<&Value> = if same_type && !same.is_empty() {
                same
            } else {
                harness.examples.iter().collect()
            };
            let mut message = candidates[example.index(candidates.len())].clone();
            for change in &changes {
                apply(&mut message, change);
            }
            let pid = path_pid(harness, endpoint, Some(&message), use_own, pool);
            harness.check(endpoint, &pid, message.to_string().into_bytes())
        },
    );
}

#[test]
fn raw_bytes_get_a_clean_answer_from_every_endpoint() {
    let Some(harness) = Harness::new() else {
        return;
    };
    for_every_endpoint(
        &harness,
        |_| (raw(), any::<Index>()),
        |harness, endpoint, (input, pool)| {
            let example = |index: &Index| {
                serde_json::to_vec_pretty(&harness.examples[index.index(harness.examples.len())])
                    .unwrap()
            };
            let bytes = match &input {
                Raw::Bytes(bytes) => bytes.clone(),
                Raw::Text(text) => text.clone().into_bytes(),
                Raw::Truncated(which, at) => {
                    let mut bytes = example(which);
                    bytes.truncate(at.index(bytes.len()));
                    bytes
                }
                Raw::Corrupted(which, at, byte) => {
                    let mut bytes = example(which);
                    let at = at.index(bytes.len());
                    bytes[at] = *byte;
                    bytes
                }
            };
            let pid = path_pid(harness, endpoint, None, false, pool);
            harness.check(endpoint, &pid, bytes)
        },
    );
}

#[test]
fn a_process_id_that_is_not_text_gets_the_protocol_error() {
    // `%FF` decodes to a byte that is no UTF-8: the path cannot name any process. The binding
    // still wants a 4xx whose body, if any, is the protocol's error message.
    let Some(harness) = Harness::new() else {
        return;
    };
    let mut failures = Vec::new();
    for endpoint in ENDPOINTS.iter().filter(|e| e.path.contains("{pid}")) {
        let example = harness
            .examples
            .iter()
            .find(|e| e["@type"] == endpoint.message)
            .expect("an example of every message")
            .to_string()
            .into_bytes();
        let path = endpoint.path.replace("{pid}", "%FF");
        let before = harness.snapshot();
        let answer = harness.post(&path, "application/json", example);
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        let conformant = answer.status == StatusCode::BAD_REQUEST
            && serde_json::from_slice::<Value>(&answer.body).is_ok_and(|body| {
                body["@type"] == endpoint.error && harness.schemas.validate_message(&body).is_ok()
            });
        if !conformant {
            failures.push(format!("POST {path}: {} {text:?}", answer.status));
        }
        assert_eq!(harness.snapshot(), before);
    }
    assert!(
        failures.is_empty(),
        "answers that are not the protocol's error message:\n  {}",
        failures.join("\n  ")
    );
}
