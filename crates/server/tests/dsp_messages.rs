//! The answers tsunagu gives over DSP validate against the official DSP 2025-1 schemas: the
//! catalog and its pages, a dataset, the version document, the negotiation and transfer
//! acknowledgements, and the error messages of each protocol.
//!
//! A real provider connector runs in process on a temporary SQLite store with its workers; the
//! test plays the consumer through `public_router` with `tower::ServiceExt::oneshot`. The
//! provider's outbound messages go to a recording peer that acknowledges everything, so the
//! test also sees what the provider says back (its wire form is checked in `peer.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::watch;
use tower::ServiceExt;
use tsunagu_core::{AssetSelector, Negotiation, NegotiationAction, Transfer, TransferAction};
use tsunagu_engine::{
    ByteStream, Connector, NegotiationAck, NewAssetRequest, NewContractDefinition,
    NewPolicyDefinition, OwnIdentity, Peer, PeerError, Settings, TransferAck, Workers,
};
use tsunagu_server::{AppState, CallerIdentityHeaders, DevHeaderAuthenticator, public_router};
use tsunagu_store::{Page, SqliteStore};
use tsunagu_testkit::DspSchemas;

const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";
const PROVIDER: &str = "did:web:cathode.example";
const CONSUMER: &str = "did:web:cells.example";
const STRANGER: &str = "did:web:recycler.example";
/// The provider's public addresses; the host is never contacted.
const ORIGIN: &str = "http://127.0.0.1:9";
const CONSUMER_CALLBACK: &str = "https://cells.example/dsp/callback";
const WAIT: Duration = Duration::from_secs(10);

/// What the provider said to its counter-party.
#[derive(Debug, Clone)]
struct Outbound {
    /// `negotiation SendAgreement`, `transfer SendStart`, `push`, ...
    what: String,
    /// The provider's process id, or the push endpoint.
    process: String,
    address: String,
    /// The agreement id a negotiation message carries, the pull address and token of a start.
    agreement_id: Option<String>,
    pull_address: Option<(String, String)>,
    push_token: Option<String>,
}

/// A counter-party that acknowledges every message and remembers it.
struct Recorder {
    calls: Mutex<Vec<Outbound>>,
    changed: watch::Sender<usize>,
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            calls: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
        }
    }

    fn record(&self, outbound: Outbound) {
        self.calls.lock().unwrap().push(outbound);
        self.changed.send_modify(|count| *count += 1);
    }

    fn find(&self, what: &str, process: &str) -> Option<Outbound> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .find(|call| call.what == what && call.process == process)
            .cloned()
    }

    /// Waits (with a deadline, woken by every recorded call) until `what` about `process`
    /// has been sent.
    async fn wait_for(&self, what: &str, process: &str) -> Outbound {
        let mut changes = self.changed.subscribe();
        let found = tokio::time::timeout(
            WAIT,
            changes.wait_for(|_| self.find(what, process).is_some()),
        )
        .await;
        assert!(
            matches!(found, Ok(Ok(_))),
            "the provider did not send {what} for {process} within {WAIT:?}; it sent {:#?}",
            self.calls.lock().unwrap()
        );
        self.find(what, process).unwrap()
    }
}

fn refused() -> PeerError {
    PeerError::Refused {
        status: 501,
        detail: "not part of this test".into(),
    }
}

#[async_trait]
impl Peer for Recorder {
    async fn send_negotiation_message(
        &self,
        _: &OwnIdentity,
        negotiation: &Negotiation,
        action: &NegotiationAction,
    ) -> Result<NegotiationAck, PeerError> {
        self.record(Outbound {
            what: format!("negotiation {}", action_name(action)),
            process: negotiation.id.clone(),
            address: negotiation.counter_party_address.clone(),
            agreement_id: negotiation.agreement.as_ref().map(|a| a.id.clone()),
            pull_address: None,
            push_token: None,
        });
        Ok(NegotiationAck::default())
    }

    async fn send_transfer_message(
        &self,
        _: &OwnIdentity,
        transfer: &Transfer,
        action: &TransferAction,
        pull_address: Option<(&str, &str)>,
    ) -> Result<TransferAck, PeerError> {
        self.record(Outbound {
            what: format!("transfer {}", transfer_action_name(action)),
            process: transfer.id.clone(),
            address: transfer.counter_party_address.clone(),
            agreement_id: Some(transfer.agreement_id.clone()),
            pull_address: pull_address.map(|(endpoint, token)| (endpoint.into(), token.into())),
            push_token: None,
        });
        Ok(TransferAck::default())
    }

    async fn request_catalog(
        &self,
        _: &OwnIdentity,
        _: &str,
        _: &str,
        _: Value,
    ) -> Result<(Value, Option<String>), PeerError> {
        Err(refused())
    }

    async fn pull(&self, _: &str, _: &str) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(refused())
    }

    async fn push(
        &self,
        endpoint: &str,
        token: Option<&str>,
        _: Option<&str>,
        mut body: ByteStream,
    ) -> Result<(), PeerError> {
        while let Some(piece) = body.next().await {
            piece.map_err(|error| PeerError::Unreachable(error.to_string()))?;
        }
        self.record(Outbound {
            what: "push".into(),
            process: endpoint.into(),
            address: endpoint.into(),
            agreement_id: None,
            pull_address: None,
            push_token: token.map(str::to_owned),
        });
        Ok(())
    }

    async fn fetch_source(
        &self,
        _: &str,
        _: Option<(&str, &str)>,
    ) -> Result<(Option<String>, ByteStream), PeerError> {
        Err(refused())
    }
}

fn action_name(action: &NegotiationAction) -> &'static str {
    match action {
        NegotiationAction::SendRequest => "SendRequest",
        NegotiationAction::SendOffer => "SendOffer",
        NegotiationAction::SendAccepted => "SendAccepted",
        NegotiationAction::SendAgreement => "SendAgreement",
        NegotiationAction::SendVerification => "SendVerification",
        NegotiationAction::SendFinalized => "SendFinalized",
        NegotiationAction::SendTermination { .. } => "SendTermination",
    }
}

fn transfer_action_name(action: &TransferAction) -> &'static str {
    match action {
        TransferAction::SendRequest => "SendRequest",
        TransferAction::SendStart => "SendStart",
        TransferAction::Push => "Push",
        TransferAction::SendSuspension { .. } => "SendSuspension",
        TransferAction::SendCompletion => "SendCompletion",
        TransferAction::SendTermination { .. } => "SendTermination",
    }
}

/// A provider connector with a published catalog, and the schemas to judge its answers.
struct Provider {
    router: Router,
    connector: Connector,
    recorder: Arc<Recorder>,
    schemas: DspSchemas,
    _workers: Workers,
    _directory: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    fn links(&self) -> Vec<String> {
        self.headers
            .get_all(LINK)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    /// The local path of the link with relation `rel`, if there is one.
    fn link(&self, rel: &str) -> Option<String> {
        let suffix = format!(">; rel=\"{rel}\"");
        self.links().into_iter().find_map(|link| {
            let url = link.strip_prefix('<')?.strip_suffix(&suffix)?;
            let expected = format!("{ORIGIN}/dsp/catalog/request?");
            assert!(url.starts_with(&expected), "link {link} leaves the catalog");
            Some(url.strip_prefix(ORIGIN).unwrap().to_owned())
        })
    }
}

/// The stored asset bytes as one chunk.
fn bytes_of(text: &'static str) -> ByteStream {
    Box::pin(futures::stream::once(async move {
        Ok::<_, std::io::Error>(Bytes::from_static(text.as_bytes()))
    }))
}

impl Provider {
    async fn start(asset_ids: &[&str]) -> Option<Provider> {
        let spec = tsunagu_testkit::require_spec()?;
        let schemas = DspSchemas::load(&spec).expect("DSP 2025-1 schemas compile");
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("provider.sqlite"))
            .await
            .unwrap();
        let settings = Settings::new(
            PROVIDER.into(),
            format!("{ORIGIN}/dsp"),
            format!("{ORIGIN}/data"),
        );
        let recorder = Arc::new(Recorder::new());
        let connector = Connector::new(Arc::new(store), recorder.clone(), settings);
        for id in asset_ids {
            let mut properties = serde_json::Map::new();
            properties.insert("name".into(), json!(format!("Carbon footprint of {id}")));
            properties.insert("contenttype".into(), json!("application/json"));
            connector
                .create_asset(NewAssetRequest {
                    id: Some((*id).into()),
                    properties,
                    http_source: None,
                    media_type: Some("application/json".into()),
                })
                .await
                .unwrap();
            connector
                .upload_asset(id, None, bytes_of(r#"{"pcf": 12.5, "unit": "kgCO2e/kg"}"#))
                .await
                .unwrap();
        }
        connector
            .create_policy_definition(NewPolicyDefinition {
                id: Some("members".into()),
                policy: json!({"@type": "Set", "permission": [{"action": "use"}]}),
            })
            .await
            .unwrap();
        connector
            .create_policy_definition(NewPolicyDefinition {
                id: Some("cfp-only".into()),
                policy: json!({
                    "@type": "Set",
                    "permission": [{
                        "action": "use",
                        "constraint": [
                            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "cfp"}
                        ]
                    }]
                }),
            })
            .await
            .unwrap();
        connector
            .create_contract_definition(NewContractDefinition {
                id: Some("cfp-for-members".into()),
                access_policy_id: "members".into(),
                contract_policy_id: "cfp-only".into(),
                assets: AssetSelector::All,
            })
            .await
            .unwrap();
        let workers = connector.spawn_workers();
        let router = public_router(AppState {
            connector: connector.clone(),
            authenticator: Arc::new(DevHeaderAuthenticator),
            management_api_key: "unused".into(),
        });
        Some(Provider {
            router,
            connector,
            recorder,
            schemas,
            _workers: workers,
            _directory: directory,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        caller: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(caller) = caller {
            request = request.header(CallerIdentityHeaders::PARTICIPANT, caller);
        }
        let body = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, caller: &str) -> Answer {
        self.call(Method::GET, path, Some(caller), None).await
    }

    async fn post(&self, path: &str, caller: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(caller), Some(body))
            .await
    }

    /// Asserts `answer` has `status`, is `application/json`, is of `@type` `kind` (or the
    /// version document when `kind` is empty) and validates against its schema; returns it.
    fn valid(&self, answer: &Answer, status: StatusCode, kind: &str) -> Value {
        assert_eq!(answer.status, status, "{}", answer.text());
        let content_type = answer
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "DSP answers are application/json, got {content_type:?}"
        );
        let body = answer.json();
        if kind.is_empty() {
            assert!(body.get("@type").is_none(), "{body}");
        } else {
            assert_eq!(body["@type"], kind, "{body}");
        }
        if let Err(errors) = self.schemas.validate_message(&body) {
            panic!(
                "the answer does not validate:\n  {}\n{body:#}",
                errors.join("\n  ")
            );
        }
        body
    }

    async fn catalog(&self, path: &str, filter: Value) -> Answer {
        self.post(
            path,
            CONSUMER,
            json!({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": filter}),
        )
        .await
    }

    async fn negotiation_count(&self) -> usize {
        self.connector.negotiations(Page::ALL).await.unwrap().len()
    }

    async fn transfer_count(&self) -> usize {
        self.connector.transfers(Page::ALL).await.unwrap().len()
    }

    /// Negotiates the catalog's first offer for `asset` as the consumer, up to FINALIZED.
    /// Returns the provider's process id and the agreement id the provider sent.
    async fn finalized_agreement(&self, asset: &str, consumer_pid: &str) -> (String, String) {
        let offer = self.offer_for(asset).await;
        let answer = self
            .post(
                "/dsp/negotiations/request",
                CONSUMER,
                contract_request(consumer_pid, &offer),
            )
            .await;
        let ack = self.valid(&answer, StatusCode::CREATED, "ContractNegotiation");
        let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
        let agreement = self
            .recorder
            .wait_for("negotiation SendAgreement", &provider_pid)
            .await;
        let answer = self
            .post(
                &format!("/dsp/negotiations/{provider_pid}/agreement/verification"),
                CONSUMER,
                json!({
                    "@context": [DSP_CONTEXT],
                    "@type": "ContractAgreementVerificationMessage",
                    "providerPid": provider_pid,
                    "consumerPid": consumer_pid,
                }),
            )
            .await;
        let ack = self.valid(&answer, StatusCode::OK, "ContractNegotiation");
        assert_eq!(ack["state"], "FINALIZED");
        (provider_pid, agreement.agreement_id.unwrap())
    }

    /// The catalog's offer for `asset`, with the `target` a request must name.
    async fn offer_for(&self, asset: &str) -> Value {
        let catalog = self.catalog("/dsp/catalog/request", json!([])).await;
        let catalog = self.valid(&catalog, StatusCode::OK, "Catalog");
        let dataset = catalog["dataset"]
            .as_array()
            .unwrap()
            .iter()
            .find(|dataset| dataset["@id"] == asset)
            .unwrap_or_else(|| panic!("{asset} is not in {catalog:#}"));
        let mut offer = dataset["hasPolicy"][0].clone();
        offer["target"] = json!(asset);
        offer
    }
}

fn contract_request(consumer_pid: &str, offer: &Value) -> Value {
    json!({
        "@context": [DSP_CONTEXT],
        "@type": "ContractRequestMessage",
        "consumerPid": consumer_pid,
        "offer": offer,
        "callbackAddress": CONSUMER_CALLBACK,
    })
}

fn transfer_request(consumer_pid: &str, agreement_id: &str, format: &str) -> Value {
    json!({
        "@context": [DSP_CONTEXT],
        "@type": "TransferRequestMessage",
        "consumerPid": consumer_pid,
        "agreementId": agreement_id,
        "format": format,
        "callbackAddress": CONSUMER_CALLBACK,
    })
}

fn transfer_message(kind: &str, provider_pid: &str, consumer_pid: &str) -> Value {
    let mut message = json!({
        "@context": [DSP_CONTEXT],
        "@type": kind,
        "providerPid": provider_pid,
        "consumerPid": consumer_pid,
    });
    if kind == "TransferSuspensionMessage" || kind == "TransferTerminationMessage" {
        message["code"] = json!("paused");
        message["reason"] = json!(["maintenance window"]);
    }
    message
}

#[tokio::test]
async fn the_version_document_validates() {
    let Some(provider) = Provider::start(&[]).await else {
        return;
    };
    let answer = provider
        .call(Method::GET, "/.well-known/dspace-version", None, None)
        .await;
    let version = provider.valid(&answer, StatusCode::OK, "");
    assert_eq!(
        version["protocolVersions"],
        json!([{"version": "2025-1", "path": "/dsp", "binding": "HTTPS"}])
    );
}

#[tokio::test]
async fn catalog_pages_validate_and_link_to_each_other() {
    let Some(provider) = Provider::start(&["asset-1", "asset-2"]).await else {
        return;
    };
    // Unpaginated: both datasets, no links.
    let whole = provider.catalog("/dsp/catalog/request", json!([])).await;
    let catalog = provider.valid(&whole, StatusCode::OK, "Catalog");
    assert_eq!(catalog["participantId"], PROVIDER);
    assert_eq!(catalog["dataset"].as_array().unwrap().len(), 2);
    assert!(whole.links().is_empty(), "{:?}", whole.links());
    for dataset in catalog["dataset"].as_array().unwrap() {
        assert_eq!(dataset["hasPolicy"].as_array().unwrap().len(), 1);
        for distribution in dataset["distribution"].as_array().unwrap() {
            // Every distribution's access service is the catalog's own data service.
            assert_eq!(distribution["accessService"], catalog["service"][0]["@id"]);
        }
    }

    // One per page: the first page links to the next, the last back to the previous.
    let first = provider
        .catalog("/dsp/catalog/request?limit=1", json!([]))
        .await;
    let first_catalog = provider.valid(&first, StatusCode::OK, "Catalog");
    assert_eq!(first_catalog["dataset"].as_array().unwrap().len(), 1);
    assert_eq!(first.link("previous"), None);
    let next = first
        .link("next")
        .unwrap_or_else(|| panic!("no rel=\"next\" link in {:?}", first.links()));
    let second = provider.catalog(&next, json!([])).await;
    let second_catalog = provider.valid(&second, StatusCode::OK, "Catalog");
    assert_eq!(second_catalog["dataset"].as_array().unwrap().len(), 1);
    assert_eq!(second.link("next"), None, "{:?}", second.links());
    let mut seen = vec![
        first_catalog["dataset"][0]["@id"].as_str().unwrap(),
        second_catalog["dataset"][0]["@id"].as_str().unwrap(),
    ];
    seen.sort_unstable();
    assert_eq!(seen, ["asset-1", "asset-2"]);

    let previous = second
        .link("previous")
        .unwrap_or_else(|| panic!("no rel=\"previous\" link in {:?}", second.links()));
    let back = provider.catalog(&previous, json!([])).await;
    let back_catalog = provider.valid(&back, StatusCode::OK, "Catalog");
    assert_eq!(
        back_catalog["dataset"][0]["@id"],
        first_catalog["dataset"][0]["@id"]
    );
}

#[tokio::test]
async fn catalog_filters_are_applied_or_refused_with_a_catalog_error() {
    let Some(provider) = Provider::start(&["asset-1", "asset-2"]).await else {
        return;
    };
    let filtered = provider
        .catalog(
            "/dsp/catalog/request",
            json!([{"operandLeft": "id", "operator": "=", "operandRight": "asset-2"}]),
        )
        .await;
    let catalog = provider.valid(&filtered, StatusCode::OK, "Catalog");
    assert_eq!(catalog["dataset"].as_array().unwrap().len(), 1);
    assert_eq!(catalog["dataset"][0]["@id"], "asset-2");

    // A filter nobody documented: the binding says 400, the body a CatalogError.
    for filter in [
        json!([{"sparql": "SELECT * WHERE { ?s ?p ?o }"}]),
        json!(["id = asset-1"]),
        json!([{"operandLeft": "id", "operator": "~", "operandRight": "asset-1"}]),
    ] {
        let refused = provider.catalog("/dsp/catalog/request", filter).await;
        let error = provider.valid(&refused, StatusCode::BAD_REQUEST, "CatalogError");
        assert!(error["reason"][0].as_str().unwrap().contains("filter"));
    }
}

#[tokio::test]
async fn catalog_query_errors_are_catalog_errors() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let garbled = provider
        .catalog("/dsp/catalog/request?continuationToken=garbage", json!([]))
        .await;
    provider.valid(&garbled, StatusCode::BAD_REQUEST, "CatalogError");
    // The catalog binding: "In the event of a request error, the Catalog Service MUST return an
    // appropriate HTTP code and a Catalog Error in the response body."
    let mut failures = Vec::new();
    for query in ["limit=many", "limit=-1", "limit=99999999999"] {
        let answer = provider
            .catalog(&format!("/dsp/catalog/request?{query}"), json!([]))
            .await;
        let conformant = answer.status == StatusCode::BAD_REQUEST
            && serde_json::from_slice::<Value>(&answer.body).is_ok_and(|body| {
                body["@type"] == "CatalogError" && provider.schemas.validate_message(&body).is_ok()
            });
        if !conformant {
            failures.push(format!("?{query}: {} {:?}", answer.status, answer.text()));
        }
    }
    assert!(
        failures.is_empty(),
        "catalog requests answered without a CatalogError:\n  {}",
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn a_dataset_validates_and_an_unknown_one_is_a_catalog_error() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let answer = provider
        .get("/dsp/catalog/datasets/asset-1", CONSUMER)
        .await;
    let dataset = provider.valid(&answer, StatusCode::OK, "Dataset");
    assert_eq!(dataset["@id"], "asset-1");
    assert_eq!(dataset["name"], "Carbon footprint of asset-1");
    let formats: Vec<&str> = dataset["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|distribution| distribution["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["HttpData-PULL", "HttpData-PUSH"]);

    let unknown = provider
        .get("/dsp/catalog/datasets/asset-404", CONSUMER)
        .await;
    provider.valid(&unknown, StatusCode::NOT_FOUND, "CatalogError");
}

#[tokio::test]
async fn requests_without_an_identity_get_the_protocol_error() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let cases = [
        (Method::POST, "/dsp/catalog/request", "CatalogError"),
        (Method::GET, "/dsp/catalog/datasets/asset-1", "CatalogError"),
        (
            Method::POST,
            "/dsp/negotiations/request",
            "ContractNegotiationError",
        ),
        (
            Method::GET,
            "/dsp/callback/negotiations/urn:uuid:x",
            "ContractNegotiationError",
        ),
        (Method::POST, "/dsp/transfers/request", "TransferError"),
        (
            Method::POST,
            "/dsp/callback/transfers/urn:uuid:x/start",
            "TransferError",
        ),
    ];
    for (method, path, kind) in cases {
        let body = (method == Method::POST).then(|| json!({}));
        let answer = provider.call(method, path, None, body).await;
        provider.valid(&answer, StatusCode::UNAUTHORIZED, kind);
    }
}

#[tokio::test]
async fn negotiation_answers_validate() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let consumer_pid = "urn:uuid:0b9c6a4e-8f0e-4a4e-9a43-c0a5e1d0c001";
    let offer = provider.offer_for("asset-1").await;

    // The initial request: 201 and the negotiation as the provider sees it.
    let answer = provider
        .post(
            "/dsp/negotiations/request",
            CONSUMER,
            contract_request(consumer_pid, &offer),
        )
        .await;
    let ack = provider.valid(&answer, StatusCode::CREATED, "ContractNegotiation");
    assert_eq!(ack["consumerPid"], consumer_pid);
    assert_eq!(ack["state"], "REQUESTED");
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
    assert!(!provider_pid.is_empty());

    // The provider agrees and sends the agreement to the consumer's callback address.
    let sent = provider
        .recorder
        .wait_for("negotiation SendAgreement", &provider_pid)
        .await;
    assert_eq!(sent.address, CONSUMER_CALLBACK);
    let answer = provider
        .get(&format!("/dsp/negotiations/{provider_pid}"), CONSUMER)
        .await;
    let current = provider.valid(&answer, StatusCode::OK, "ContractNegotiation");
    assert_eq!(current["state"], "AGREED");
    assert_eq!(current["providerPid"], provider_pid.as_str());

    // Not the consumer's to see: a stranger gets 404 as for an unknown process.
    let answer = provider
        .get(&format!("/dsp/negotiations/{provider_pid}"), STRANGER)
        .await;
    provider.valid(&answer, StatusCode::NOT_FOUND, "ContractNegotiationError");
    let answer = provider
        .get("/dsp/negotiations/urn:uuid:no-such-negotiation", CONSUMER)
        .await;
    let error = provider.valid(&answer, StatusCode::NOT_FOUND, "ContractNegotiationError");
    assert_eq!(error["providerPid"], "urn:uuid:no-such-negotiation");
    let answer = provider
        .post(
            "/dsp/negotiations/urn:uuid:no-such-negotiation/termination",
            CONSUMER,
            json!({
                "@context": [DSP_CONTEXT],
                "@type": "ContractNegotiationTerminationMessage",
                "providerPid": "urn:uuid:no-such-negotiation",
                "consumerPid": consumer_pid,
            }),
        )
        .await;
    provider.valid(&answer, StatusCode::NOT_FOUND, "ContractNegotiationError");

    // ACCEPTED is for a provider's offer; the negotiation is AGREED: an illegal transition.
    let before = provider.negotiation_count().await;
    let answer = provider
        .post(
            &format!("/dsp/negotiations/{provider_pid}/events"),
            CONSUMER,
            json!({
                "@context": [DSP_CONTEXT],
                "@type": "ContractNegotiationEventMessage",
                "providerPid": provider_pid,
                "consumerPid": consumer_pid,
                "eventType": "ACCEPTED",
            }),
        )
        .await;
    let error = provider.valid(&answer, StatusCode::BAD_REQUEST, "ContractNegotiationError");
    assert_eq!(error["providerPid"], provider_pid.as_str());
    assert_eq!(error["consumerPid"], consumer_pid);
    let unchanged = provider.connector.negotiation(&provider_pid).await.unwrap();
    assert_eq!(unchanged.state, tsunagu_core::NegotiationState::Agreed);
    assert_eq!(provider.negotiation_count().await, before);

    // A request that is not a valid message: 400 with the negotiation error, nothing stored.
    let mut broken = contract_request("urn:uuid:broken", &offer);
    broken.as_object_mut().unwrap().remove("@context");
    let answer = provider
        .post("/dsp/negotiations/request", CONSUMER, broken)
        .await;
    provider.valid(&answer, StatusCode::BAD_REQUEST, "ContractNegotiationError");
    // An offer the provider never made: 400, nothing stored.
    let mut foreign = offer.clone();
    foreign["@id"] = json!("urn:uuid:2828282:3dd1add8-4d2d-569e-d634-8394a8836a89");
    let answer = provider
        .post(
            "/dsp/negotiations/request",
            CONSUMER,
            contract_request("urn:uuid:foreign", &foreign),
        )
        .await;
    provider.valid(&answer, StatusCode::BAD_REQUEST, "ContractNegotiationError");
    assert_eq!(provider.negotiation_count().await, before);

    // Verification finalises, and the provider says so.
    let answer = provider
        .post(
            &format!("/dsp/negotiations/{provider_pid}/agreement/verification"),
            CONSUMER,
            json!({
                "@context": [DSP_CONTEXT],
                "@type": "ContractAgreementVerificationMessage",
                "providerPid": provider_pid,
                "consumerPid": consumer_pid,
            }),
        )
        .await;
    let finalized = provider.valid(&answer, StatusCode::OK, "ContractNegotiation");
    assert_eq!(finalized["state"], "FINALIZED");
    provider
        .recorder
        .wait_for("negotiation SendFinalized", &provider_pid)
        .await;

    // Nothing moves a finalized negotiation, not even a termination.
    let answer = provider
        .post(
            &format!("/dsp/negotiations/{provider_pid}/termination"),
            CONSUMER,
            json!({
                "@context": [DSP_CONTEXT],
                "@type": "ContractNegotiationTerminationMessage",
                "providerPid": provider_pid,
                "consumerPid": consumer_pid,
                "code": "changed-mind",
                "reason": ["too late"],
            }),
        )
        .await;
    provider.valid(&answer, StatusCode::BAD_REQUEST, "ContractNegotiationError");
}

#[tokio::test]
async fn a_request_for_other_terms_is_refused_with_a_valid_error() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    // The same offer id with the purpose dropped: the terms differ from those offered.
    let mut offer = provider.offer_for("asset-1").await;
    offer["permission"] = json!([{"action": "use"}]);
    let answer = provider
        .post(
            "/dsp/negotiations/request",
            CONSUMER,
            contract_request("urn:uuid:other-terms", &offer),
        )
        .await;
    let error = provider.valid(&answer, StatusCode::BAD_REQUEST, "ContractNegotiationError");
    assert_eq!(error["consumerPid"], "urn:uuid:other-terms");
    assert_eq!(provider.negotiation_count().await, 0);
}

#[tokio::test]
async fn a_request_the_contract_policy_denies_is_acknowledged_then_terminated() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    provider
        .connector
        .create_policy_definition(NewPolicyDefinition {
            id: Some("cell-makers".into()),
            policy: json!({
                "@type": "Set",
                "permission": [{
                    "action": "use",
                    "constraint": [
                        {"leftOperand": "role", "operator": "eq", "rightOperand": "cellMaker"}
                    ]
                }]
            }),
        })
        .await
        .unwrap();
    provider
        .connector
        .create_contract_definition(NewContractDefinition {
            id: Some("cell-makers-only".into()),
            access_policy_id: "members".into(),
            contract_policy_id: "cell-makers".into(),
            assets: AssetSelector::Ids(vec!["asset-1".into()]),
        })
        .await
        .unwrap();
    let catalog = provider.catalog("/dsp/catalog/request", json!([])).await;
    let catalog = provider.valid(&catalog, StatusCode::OK, "Catalog");
    let mut offer = catalog["dataset"][0]["hasPolicy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|offer| offer["permission"][0]["constraint"][0]["leftOperand"] == "role")
        .expect("the role-bound offer is in the catalog")
        .clone();
    offer["target"] = json!("asset-1");

    // The caller states no role: the request is well-formed, so it is acknowledged, and the
    // provider then terminates with a conformant message.
    let answer = provider
        .post(
            "/dsp/negotiations/request",
            CONSUMER,
            contract_request("urn:uuid:no-role", &offer),
        )
        .await;
    let ack = provider.valid(&answer, StatusCode::CREATED, "ContractNegotiation");
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
    let termination = provider
        .recorder
        .wait_for("negotiation SendTermination", &provider_pid)
        .await;
    assert_eq!(termination.address, CONSUMER_CALLBACK);
    let answer = provider
        .get(&format!("/dsp/negotiations/{provider_pid}"), CONSUMER)
        .await;
    let current = provider.valid(&answer, StatusCode::OK, "ContractNegotiation");
    assert_eq!(current["state"], "TERMINATED");
}

#[tokio::test]
async fn pull_transfer_answers_validate() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let consumer_pid = "urn:uuid:7d1e2f40-1111-4c2b-9a43-c0a5e1d0c002";
    let (_, agreement_id) = provider
        .finalized_agreement("asset-1", "urn:uuid:negotiation-for-pull")
        .await;

    let answer = provider
        .post(
            "/dsp/transfers/request",
            CONSUMER,
            transfer_request(consumer_pid, &agreement_id, "HttpData-PULL"),
        )
        .await;
    let ack = provider.valid(&answer, StatusCode::CREATED, "TransferProcess");
    assert_eq!(ack["consumerPid"], consumer_pid);
    assert_eq!(ack["state"], "REQUESTED");
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();

    // The provider starts the transfer with the pull address of its data plane.
    let start = provider
        .recorder
        .wait_for("transfer SendStart", &provider_pid)
        .await;
    assert_eq!(start.address, CONSUMER_CALLBACK);
    let (endpoint, token) = start
        .pull_address
        .expect("a pull start carries its address");
    assert_eq!(endpoint, format!("{ORIGIN}/data"));
    assert!(!token.is_empty());

    // Asking again with the same consumerPid is answered with the same process.
    let again = provider
        .post(
            "/dsp/transfers/request",
            CONSUMER,
            transfer_request(consumer_pid, &agreement_id, "HttpData-PULL"),
        )
        .await;
    let again = provider.valid(&again, StatusCode::CREATED, "TransferProcess");
    assert_eq!(again["providerPid"], provider_pid.as_str());

    let path = format!("/dsp/transfers/{provider_pid}");
    let current = provider.valid(
        &provider.get(&path, CONSUMER).await,
        StatusCode::OK,
        "TransferProcess",
    );
    assert_eq!(current["state"], "STARTED");

    // Suspend, resume, complete: each answer is the transfer in its new state.
    for (message, endpoint, state) in [
        ("TransferSuspensionMessage", "suspension", "SUSPENDED"),
        ("TransferStartMessage", "start", "STARTED"),
        ("TransferCompletionMessage", "completion", "COMPLETED"),
    ] {
        let answer = provider
            .post(
                &format!("{path}/{endpoint}"),
                CONSUMER,
                transfer_message(message, &provider_pid, consumer_pid),
            )
            .await;
        let process = provider.valid(&answer, StatusCode::OK, "TransferProcess");
        assert_eq!(process["state"], state, "after {message}");
    }

    // Completed is final: a suspension now is an illegal transition, answered with a
    // TransferError naming the process.
    let answer = provider
        .post(
            &format!("{path}/suspension"),
            CONSUMER,
            transfer_message("TransferSuspensionMessage", &provider_pid, consumer_pid),
        )
        .await;
    let error = provider.valid(&answer, StatusCode::BAD_REQUEST, "TransferError");
    assert_eq!(error["providerPid"], provider_pid.as_str());
    assert_eq!(error["consumerPid"], consumer_pid);
    // The completion again is a repeat of the message last applied (delivery is at least
    // once): it is acknowledged with the transfer as it is, in a valid TransferProcess.
    let answer = provider
        .post(
            &format!("{path}/completion"),
            CONSUMER,
            transfer_message("TransferCompletionMessage", &provider_pid, consumer_pid),
        )
        .await;
    let repeat = provider.valid(&answer, StatusCode::OK, "TransferProcess");
    assert_eq!(repeat["state"], "COMPLETED");

    // Unknown and foreign processes are 404 with a TransferError.
    let answer = provider
        .get("/dsp/transfers/urn:uuid:no-such-transfer", CONSUMER)
        .await;
    provider.valid(&answer, StatusCode::NOT_FOUND, "TransferError");
    provider.valid(
        &provider.get(&path, STRANGER).await,
        StatusCode::NOT_FOUND,
        "TransferError",
    );
    let answer = provider
        .post(
            "/dsp/transfers/urn:uuid:no-such-transfer/termination",
            CONSUMER,
            transfer_message(
                "TransferTerminationMessage",
                "urn:uuid:no-such-transfer",
                consumer_pid,
            ),
        )
        .await;
    provider.valid(&answer, StatusCode::NOT_FOUND, "TransferError");
}

#[tokio::test]
async fn refused_transfer_requests_are_transfer_errors_and_store_nothing() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let (_, agreement_id) = provider
        .finalized_agreement("asset-1", "urn:uuid:negotiation-for-refusals")
        .await;
    let before = provider.transfer_count().await;

    let mut pull_with_address = transfer_request("urn:uuid:t1", &agreement_id, "HttpData-PULL");
    pull_with_address["dataAddress"] = json!({
        "@type": "DataAddress",
        "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": "https://cells.example/data/inbox/t1",
    });
    let mut push_over_ftp = transfer_request("urn:uuid:t2", &agreement_id, "HttpData-PUSH");
    push_over_ftp["dataAddress"] = json!({
        "@type": "DataAddress",
        "endpointType": "https://w3id.org/idsa/v4.1/FTP",
        "endpoint": "ftp://cells.example/inbox",
    });
    let cases = [
        (
            "unknown agreement",
            transfer_request("urn:uuid:t3", "urn:uuid:no-such-agreement", "HttpData-PULL"),
        ),
        (
            "format not offered",
            transfer_request("urn:uuid:t4", &agreement_id, "example:HTTP_PUSH"),
        ),
        (
            "push without an address",
            transfer_request("urn:uuid:t5", &agreement_id, "HttpData-PUSH"),
        ),
        ("pull with an address", pull_with_address),
        ("push to an unsupported endpoint type", push_over_ftp),
    ];
    for (what, request) in cases {
        let consumer_pid = request["consumerPid"].as_str().unwrap().to_owned();
        let answer = provider
            .post("/dsp/transfers/request", CONSUMER, request)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            answer.text()
        );
        let error = provider.valid(&answer, StatusCode::BAD_REQUEST, "TransferError");
        assert_eq!(error["consumerPid"], consumer_pid.as_str(), "{what}");
    }
    // A stranger cannot use the consumer's agreement.
    let answer = provider
        .post(
            "/dsp/transfers/request",
            STRANGER,
            transfer_request("urn:uuid:t6", &agreement_id, "HttpData-PULL"),
        )
        .await;
    provider.valid(&answer, StatusCode::BAD_REQUEST, "TransferError");
    assert_eq!(provider.transfer_count().await, before);
}

#[tokio::test]
async fn push_transfer_answers_validate() {
    let Some(provider) = Provider::start(&["asset-1"]).await else {
        return;
    };
    let consumer_pid = "urn:uuid:7d1e2f40-2222-4c2b-9a43-c0a5e1d0c003";
    let (_, agreement_id) = provider
        .finalized_agreement("asset-1", "urn:uuid:negotiation-for-push")
        .await;
    let inbox = format!("https://cells.example/data/inbox/{consumer_pid}");
    let mut request = transfer_request(consumer_pid, &agreement_id, "HttpData-PUSH");
    request["dataAddress"] = json!({
        "@type": "DataAddress",
        "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": inbox,
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": "authorization", "value": "push-token"},
            {"@type": "EndpointProperty", "name": "authType", "value": "bearer"}
        ]
    });
    provider
        .schemas
        .validate_message(&request)
        .expect("the test's own request is conformant");
    let answer = provider
        .post("/dsp/transfers/request", CONSUMER, request)
        .await;
    let ack = provider.valid(&answer, StatusCode::CREATED, "TransferProcess");
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();

    // Start (without a pull address), the data to the inbox with the consumer's token, then
    // completion.
    let start = provider
        .recorder
        .wait_for("transfer SendStart", &provider_pid)
        .await;
    assert_eq!(start.pull_address, None);
    let push = provider.recorder.wait_for("push", &inbox).await;
    assert_eq!(push.push_token.as_deref(), Some("push-token"));
    provider
        .recorder
        .wait_for("transfer SendCompletion", &provider_pid)
        .await;
    let answer = provider
        .get(&format!("/dsp/transfers/{provider_pid}"), CONSUMER)
        .await;
    let current = provider.valid(&answer, StatusCode::OK, "TransferProcess");
    assert_eq!(current["state"], "COMPLETED");
}

/// An agreement under contract terms (a policy that names a template's terms) is finalised
/// only when the consumer has signed it: the provider signs the agreement it sends; a
/// verification without the consumer's signature, with a signature over another statement or
/// by a key that is not the consumer's is refused with a valid error and leaves the
/// negotiation `AGREED`; the consumer's own signature finalises it and is kept.
#[tokio::test]
async fn agreements_under_contract_terms_are_finalised_only_when_both_signed() {
    use tsunagu_trust::did::{Did, DidDocument, StaticResolver};
    use tsunagu_trust::keys::KeyRing;

    let Some(provider) = Provider::start(&["cell-sheet"]).await else {
        return;
    };
    let now = chrono::Utc::now();
    let provider_keys = KeyRing::generate(&mut rand::thread_rng(), now);
    let consumer_keys = KeyRing::generate(&mut rand::thread_rng(), now);
    let stranger_keys = KeyRing::generate(&mut rand::thread_rng(), now);
    let resolver = Arc::new(StaticResolver::new());
    resolver.insert(DidDocument::for_key_ring(
        &Did::parse(CONSUMER).unwrap(),
        &consumer_keys,
        now,
        vec![],
    ));
    resolver.insert(DidDocument::for_key_ring(
        &Did::parse(PROVIDER).unwrap(),
        &provider_keys,
        now,
        vec![],
    ));
    let identity = Arc::new(
        tsunagu_server::identity::ConnectorIdentity::new(
            PROVIDER.into(),
            provider_keys.clone(),
            ORIGIN,
        )
        .unwrap(),
    );
    provider.connector.set_agreement_signer(Arc::new(
        tsunagu_server::identity::DidAgreementSigner::new(identity, resolver.clone()),
    ));
    // A well-formed terms reference (the text itself is the consumer's business here).
    let terms = format!(
        "carbon-footprint-exchange@1.0.0#sha256:{}",
        "0f1e".repeat(16)
    );
    let terms = terms.as_str();
    provider
        .connector
        .create_policy_definition(NewPolicyDefinition {
            id: Some("under-terms".into()),
            policy: json!({"@type": "Set", "permission": [{"action": "use", "duty": [{
                "action": "comply",
                "constraint": [{"leftOperand": "contractTerms", "operator": "eq", "rightOperand": terms}]
            }]}]}),
        })
        .await
        .unwrap();
    provider
        .connector
        .create_contract_definition(NewContractDefinition {
            id: Some("sheet-under-terms".into()),
            access_policy_id: "members".into(),
            contract_policy_id: "under-terms".into(),
            assets: AssetSelector::Ids(vec!["cell-sheet".into()]),
        })
        .await
        .unwrap();
    let catalog = provider.catalog("/dsp/catalog/request", json!([])).await;
    let catalog = provider.valid(&catalog, StatusCode::OK, "Catalog");
    let dataset = catalog["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .find(|dataset| dataset["@id"] == "cell-sheet")
        .unwrap()
        .clone();
    let mut offer = dataset["hasPolicy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|offer| tsunagu_engine::contract_terms(offer).is_some())
        .expect("the offer under terms is in the catalog")
        .clone();
    offer["target"] = json!("cell-sheet");

    let consumer_pid = "urn:uuid:5d1f0c7e-1b7a-4d38-9d2e-2f1f6b1c0a01";
    let answer = provider
        .post(
            "/dsp/negotiations/request",
            CONSUMER,
            contract_request(consumer_pid, &offer),
        )
        .await;
    let ack = provider.valid(&answer, StatusCode::CREATED, "ContractNegotiation");
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
    provider
        .recorder
        .wait_for("negotiation SendAgreement", &provider_pid)
        .await;
    let negotiation = provider.connector.negotiation(&provider_pid).await.unwrap();
    let agreement = negotiation.agreement.clone().unwrap();
    assert_eq!(
        tsunagu_engine::contract_terms(&agreement.policy).as_deref(),
        Some(terms)
    );

    // The provider signed the agreement it sent, with its DID key.
    let provider_signature = agreement
        .provider_signature
        .clone()
        .expect("provider signed");
    let provider_jwk = provider_keys.verification_keys(now)[0].clone();
    let (header, statement) =
        tsunagu_trust::jws::verify(&provider_signature, &provider_jwk).unwrap();
    assert_eq!(
        header.typ.as_deref(),
        Some(tsunagu_server::identity::AGREEMENT_JWS_TYPE)
    );
    let digest = tsunagu_engine::agreement_digest(&agreement.policy);
    assert_eq!(statement["agreementId"], agreement.id.as_str());
    assert_eq!(statement["agreementSha256"], digest.as_str());
    assert_eq!(statement["role"], "provider");
    assert_eq!(statement["contractTerms"], terms);

    let consumer_statement = json!({
        "agreementId": agreement.id,
        "agreementSha256": digest,
        "provider": PROVIDER,
        "consumer": CONSUMER,
        "role": "consumer",
        "signer": CONSUMER,
        "contractTerms": terms,
    });
    let sign = |keys: &KeyRing, did: &str, statement: &Value| {
        tsunagu_trust::jws::sign(
            tsunagu_trust::jws::JwsHeader::new(
                tsunagu_server::identity::AGREEMENT_JWS_TYPE,
                format!("{did}#{}", keys.active().kid()),
            ),
            statement,
            keys.active(),
        )
    };
    let verification = |signature: Option<String>| {
        let mut message = json!({
            "@context": [DSP_CONTEXT],
            "@type": "ContractAgreementVerificationMessage",
            "providerPid": provider_pid,
            "consumerPid": consumer_pid,
        });
        if let Some(signature) = signature {
            message[tsunagu_engine::AGREEMENT_SIGNATURE] = json!(signature);
        }
        message
    };
    let path = format!("/dsp/negotiations/{provider_pid}/agreement/verification");
    let mut provider_statement = consumer_statement.clone();
    provider_statement["role"] = json!("provider");
    for (what, signature) in [
        ("no signature", None),
        (
            "a signature over another statement",
            Some(sign(&consumer_keys, CONSUMER, &provider_statement)),
        ),
        (
            "a key that is not the consumer's",
            Some(sign(&stranger_keys, CONSUMER, &consumer_statement)),
        ),
        (
            "a signature that is not a JWS",
            Some("not.a.jws".to_owned()),
        ),
    ] {
        let answer = provider
            .post(&path, CONSUMER, verification(signature))
            .await;
        let error = provider.valid(&answer, StatusCode::BAD_REQUEST, "ContractNegotiationError");
        assert!(
            error["reason"].to_string().contains("sign"),
            "{what}: {error}"
        );
        let state = provider
            .connector
            .negotiation(&provider_pid)
            .await
            .unwrap()
            .state;
        assert_eq!(
            state,
            tsunagu_core::NegotiationState::Agreed,
            "{what} changed the negotiation"
        );
    }

    // Signed by the consumer: finalised, and both signatures are kept with the agreement.
    let signature = sign(&consumer_keys, CONSUMER, &consumer_statement);
    let answer = provider
        .post(&path, CONSUMER, verification(Some(signature.clone())))
        .await;
    let ack = provider.valid(&answer, StatusCode::OK, "ContractNegotiation");
    assert_eq!(ack["state"], "FINALIZED");
    let kept = provider
        .connector
        .negotiation(&provider_pid)
        .await
        .unwrap()
        .agreement
        .unwrap();
    assert_eq!(kept.consumer_signature.as_deref(), Some(signature.as_str()));
    assert_eq!(
        kept.provider_signature.as_deref(),
        Some(provider_signature.as_str())
    );
}
