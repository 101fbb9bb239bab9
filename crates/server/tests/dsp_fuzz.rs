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

use async_trait::async_trait;
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
use tsunagu_core::{AssetSelector, Negotiation, NegotiationAction, Transfer, TransferAction};
use tsunagu_engine::{
    ByteStream, Connector, NegotiationAck, NewAssetRequest, NewContractDefinition,
    NewPolicyDefinition, OwnIdentity, Peer, PeerError, Settings, TransferAck,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        // Whether or not it parses: no offer of this provider is known to the fuzzer, and no
        // agreement is the fuzzer's.
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

/// A counter-party that is never called: the test runs no workers.
struct NeverCalled;

fn not_called() -> PeerError {
    PeerError::Unreachable("the fuzz test runs no workers".into())
}

#[async_trait]
impl Peer for NeverCalled {
    async fn send_negotiation_message(
        &self,
        _: &OwnIdentity,
        _: &Negotiation,
        _: &NegotiationAction,
    ) -> Result<NegotiationAck, PeerError> {
        Err(not_called())
    }

    async fn send_transfer_message(
        &self,
        _: &OwnIdentity,
        _: &Transfer,
        _: &TransferAction,
        _: Option<(&str, &str)>,
    ) -> Result<TransferAck, PeerError> {
        Err(not_called())
    }

    async fn request_catalog(
        &self,
        _: &OwnIdentity,
        _: &str,
        _: Value,
    ) -> Result<(Value, Option<String>), PeerError> {
        Err(not_called())
    }

    async fn pull(&self, _: &str, _: &str) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(not_called())
    }

    async fn push(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
        _: ByteStream,
    ) -> Result<(), PeerError> {
        Err(not_called())
    }

    async fn fetch_source(
        &self,
        _: &str,
        _: Option<(&str, &str)>,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(not_called())
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
            let connector = Connector::new(Arc::new(store), Arc::new(NeverCalled), settings);
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

