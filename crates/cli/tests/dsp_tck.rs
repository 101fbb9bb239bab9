//! DSP 2025-1 conformance scenarios, one test per family of the Eclipse Dataspace TCK
//! (MET:01, CAT:01, CN:01-03, CN_C:01-03, TP:01-03, TP_C:01-03), run against a real connector
//! started as `tsunagu serve` starts it, over loopback sockets.
//!
//! The test plays the counter-party ("the TCK"): it sends raw DSP messages to the connector
//! and runs its own small HTTP server to receive the connector's messages. Every message the
//! connector sends and every answer it gives is validated against the official JSON schemas
//! when the spec bundle is present.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tsunagu::node::{self, Node};
use tsunagu_core::{AssetSelector, NegotiationState, TransferMode, TransferState};
use tsunagu_engine::{
    NewAssetRequest, NewContractDefinition, NewPolicyDefinition, StartNegotiation, StartTransfer,
};
use tsunagu_testkit::DspSchemas;

const TCK: &str = "did:web:tck.example";
const CTX: &str = "https://w3id.org/dspace/2025/1/context.jsonld";
const WAIT: Duration = Duration::from_secs(15);
const DATA: &[u8] = b"{\"pcf\": \"14.7\", \"unit\": \"kg CO2e/kg\"}";

/// One message the connector sent to the TCK.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    authorization: Option<String>,
    body: Value,
    raw: Vec<u8>,
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    changed: Notify,
}

/// The TCK's side: a connector address for the tsunagu node to call.
struct Tck {
    base: String,
    inbox: Arc<Inbox>,
    schemas: Option<Arc<DspSchemas>>,
    client: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

async fn record(
    State(inbox): State<Arc<Inbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    inbox.received.lock().unwrap().push(Received {
        method: method.clone(),
        path: path.clone(),
        authorization: authorization.clone(),
        body: parsed.clone(),
        raw: body.to_vec(),
    });
    inbox.changed.notify_waiters();
    // The TCK as provider: acknowledge initial messages with its own process ids.
    if method == Method::POST && path == "/dsp/negotiations/request" {
        let consumer_pid = parsed["consumerPid"].as_str().unwrap_or_default();
        return (
            StatusCode::CREATED,
            axum::Json(json!({"@context": [CTX], "@type": "ContractNegotiation",
                "providerPid": "urn:tck:negotiation:1", "consumerPid": consumer_pid, "state": "REQUESTED"})),
        )
            .into_response();
    }
    if method == Method::POST && path == "/dsp/transfers/request" {
        let consumer_pid = parsed["consumerPid"].as_str().unwrap_or_default();
        return (
            StatusCode::CREATED,
            axum::Json(json!({"@context": [CTX], "@type": "TransferProcess",
                "providerPid": "urn:tck:transfer:1", "consumerPid": consumer_pid, "state": "REQUESTED"})),
        )
            .into_response();
    }
    if method == Method::GET && path == "/data" {
        return if authorization.as_deref() == Some("Bearer tck-token") {
            (StatusCode::OK, DATA.to_vec()).into_response()
        } else {
            StatusCode::NOT_FOUND.into_response()
        };
    }
    (StatusCode::OK, axum::Json(json!({}))).into_response()
}

impl Tck {
    async fn start() -> Tck {
        let inbox = Arc::new(Inbox::default());
        let app = Router::new().fallback(record).with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let schemas =
            tsunagu_testkit::spec_dir().map(|spec| Arc::new(DspSchemas::load(&spec).unwrap()));
        if schemas.is_none() {
            // The scenarios still run; only schema validation needs the bundle.
            eprintln!("skipped: spec bundle not found (schema validation of DSP messages)");
        }
        Tck {
            base: format!("http://{address}"),
            inbox,
            schemas,
            client: reqwest::Client::new(),
            _server: server,
        }
    }

    fn callback(&self) -> String {
        format!("{}/callback", self.base)
    }

    fn validate(&self, what: &str, body: &Value) {
        if let Some(schemas) = &self.schemas
            && let Err(errors) = schemas.validate_message(body)
        {
            panic!("{what} does not validate against its DSP schema: {errors:?}\n{body:#}");
        }
    }

    /// Sends a DSP request as the TCK and returns status and JSON body (validated when it is a
    /// DSP message).
    async fn call(
        &self,
        node: &Node,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(TCK, node, method, path, body).await
    }

    async fn call_as(
        &self,
        who: &str,
        node: &Node,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", node.public_url);
        let mut request = self
            .client
            .request(method, &url)
            .header("x-tsunagu-participant", who);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let bytes = response.bytes().await.unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if value.get("@type").is_some() || value.get("protocolVersions").is_some() {
            self.validate(&format!("the answer to {path}"), &value);
        }
        (status, value)
    }

    /// Waits until the connector has sent a message to `path`; returns it (validated).
    async fn expect(&self, path: &str) -> Received {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.inbox.changed.notified();
            if let Some(found) = self
                .inbox
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.path == path)
                .cloned()
            {
                // Data pushed to the inbox is the asset, not a protocol message.
                if found.method == Method::POST && !path.starts_with("/inbox/") {
                    self.validate(&format!("the message to {path}"), &found.body);
                }
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen: Vec<String> = self
                    .inbox
                    .received
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|r| r.path.clone())
                    .collect();
                panic!("the connector sent nothing to {path} within {WAIT:?}; it sent to {seen:?}");
            }
        }
    }

    fn received_count(&self, path: &str) -> usize {
        self.inbox
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }
}

async fn connector(name: &str, dir: &tempfile::TempDir) -> Node {
    let config = node::dev_config(
        &format!("did:web:{name}.example"),
        format!(
            "sqlite:{}",
            dir.path().join(format!("{name}.sqlite")).display()
        ),
    );
    node::start(&config).await.unwrap()
}

/// Publishes `asset-1` under an open access policy and a purpose-bound contract policy, and
/// `restricted` for role `cellMaker` only.
async fn publish(node: &Node) {
    let c = &node.connector;
    for (id, restricted) in [("asset-1", false), ("asset-2", false)] {
        let _ = restricted;
        c.create_asset(NewAssetRequest {
            id: Some(id.into()),
            properties: json!({"name": format!("footprint {id}")})
                .as_object()
                .cloned()
                .unwrap(),
            http_source: None,
            media_type: Some("application/json".into()),
        })
        .await
        .unwrap();
        let body: tsunagu_engine::ByteStream = Box::pin(futures::stream::once(async {
            Ok(Bytes::from_static(DATA))
        }));
        c.upload_asset(id, None, body).await.unwrap();
    }
    c.create_policy_definition(NewPolicyDefinition {
        id: Some("open".into()),
        policy: json!({"@type": "Set", "permission": [{"action": "use"}]}),
    })
    .await
    .unwrap();
    c.create_policy_definition(NewPolicyDefinition {
        id: Some("cfp".into()),
        policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "cfp"}]}]}),
    })
    .await
    .unwrap();
    c.create_policy_definition(NewPolicyDefinition {
        id: Some("cell-makers".into()),
        policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
            {"leftOperand": "role", "operator": "eq", "rightOperand": "cellMaker"}]}]}),
    })
    .await
    .unwrap();
    c.create_contract_definition(NewContractDefinition {
        id: Some("def-1".into()),
        access_policy_id: "open".into(),
        contract_policy_id: "cfp".into(),
        assets: AssetSelector::Ids(vec!["asset-1".into()]),
    })
    .await
    .unwrap();
    // Visible to everyone, but its contract admits only cell makers: requests are refused.
    c.create_contract_definition(NewContractDefinition {
        id: Some("def-2".into()),
        access_policy_id: "open".into(),
        contract_policy_id: "cell-makers".into(),
        assets: AssetSelector::Ids(vec!["asset-2".into()]),
    })
    .await
    .unwrap();
}

async fn offer_for(tck: &Tck, node: &Node, asset: &str) -> Value {
    let (status, catalog) = tck
        .call(
            node,
            Method::POST,
            "/dsp/catalog/request",
            Some(json!({"@context": [CTX], "@type": "CatalogRequestMessage"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    let dataset = catalog["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["@id"] == asset)
        .unwrap_or_else(|| panic!("{asset} not in catalog {catalog:#}"));
    let mut offer = dataset["hasPolicy"][0].clone();
    offer["target"] = json!(asset);
    offer
}

fn request_message(consumer_pid: &str, offer: &Value, callback: &str) -> Value {
    json!({"@context": [CTX], "@type": "ContractRequestMessage", "consumerPid": consumer_pid,
           "offer": offer, "callbackAddress": callback})
}

/// Runs CN:01's happy path as consumer against the node and returns (providerPid, agreement id).
async fn finalize_as_consumer(tck: &Tck, node: &Node, consumer_pid: &str) -> (String, String) {
    let offer = offer_for(tck, node, "asset-1").await;
    let (status, ack) = tck
        .call(
            node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message(consumer_pid, &offer, &tck.callback())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["state"], "REQUESTED");
    assert_eq!(ack["consumerPid"], consumer_pid);
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
    let agreement = tck
        .expect(&format!("/callback/negotiations/{consumer_pid}/agreement"))
        .await;
    let agreement_id = agreement.body["agreement"]["@id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = tck
        .call(
            node,
            Method::POST,
            &format!("/dsp/negotiations/{provider_pid}/agreement/verification"),
            Some(
                json!({"@context": [CTX], "@type": "ContractAgreementVerificationMessage",
                        "providerPid": provider_pid, "consumerPid": consumer_pid}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let finalized = tck
        .expect(&format!("/callback/negotiations/{consumer_pid}/events"))
        .await;
    assert_eq!(finalized.body["eventType"], "FINALIZED");
    (provider_pid, agreement_id)
}

#[tokio::test]
async fn met_01_version_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    let tck = Tck::start().await;
    // Unauthenticated on purpose: the version document is public.
    let response = reqwest::get(format!("{}/.well-known/dspace-version", node.public_url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    tck.validate("the version document", &body);
    let versions = body["protocolVersions"].as_array().unwrap();
    assert!(
        versions
            .iter()
            .any(|v| v["version"] == "2025-1" && v["path"] == "/dsp" && v["binding"] == "HTTPS")
    );
}

#[tokio::test]
async fn cat_01_catalog_and_dataset_requests() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    let request = json!({"@context": [CTX], "@type": "CatalogRequestMessage"});
    let (status, catalog) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/catalog/request",
            Some(request.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(catalog["participantId"], "did:web:provider.example");
    let ids: Vec<&str> = catalog["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["@id"].as_str())
        .collect();
    assert_eq!(ids, ["asset-1", "asset-2"]);
    // Each offer names its dataset only implicitly and carries the contract policy.
    let offer = &catalog["dataset"][0]["hasPolicy"][0];
    assert_eq!(offer["@type"], "Offer");
    assert_eq!(
        offer["permission"][0]["constraint"][0]["rightOperand"],
        "cfp"
    );

    let (status, dataset) = tck
        .call(&node, Method::GET, "/dsp/catalog/datasets/asset-1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dataset["@id"], "asset-1");
    let (status, error) = tck
        .call(&node, Method::GET, "/dsp/catalog/datasets/nothing", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["@type"], "CatalogError");

    // Pagination with Link headers.
    let response = tck
        .client
        .post(format!("{}/dsp/catalog/request?limit=1", node.public_url))
        .header("x-tsunagu-participant", TCK)
        .json(&request)
        .send()
        .await
        .unwrap();
    let link = response
        .headers()
        .get("link")
        .expect("a next link")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(link.contains("rel=\"next\""), "{link}");
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["dataset"].as_array().unwrap().len(), 1);
    let next = link
        .split_once('<')
        .unwrap()
        .1
        .split_once('>')
        .unwrap()
        .0
        .to_owned();
    let second: Value = tck
        .client
        .post(&next)
        .header("x-tsunagu-participant", TCK)
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["dataset"][0]["@id"], "asset-2");

    // Filters: a supported one narrows, an unsupported one is refused with 400.
    let filtered = json!({"@context": [CTX], "@type": "CatalogRequestMessage",
        "filter": [{"operandLeft": "id", "operator": "=", "operandRight": "asset-2"}]});
    let (status, catalog) = tck
        .call(&node, Method::POST, "/dsp/catalog/request", Some(filtered))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(catalog["dataset"].as_array().unwrap().len(), 1);
    let unsupported = json!({"@context": [CTX], "@type": "CatalogRequestMessage", "filter": [{"sparql": "SELECT *"}]});
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/catalog/request",
            Some(unsupported),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "CatalogError");

    // No identity: refused with a catalog error.
    let response = tck
        .client
        .post(format!("{}/dsp/catalog/request", node.public_url))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    tck.validate("the unauthenticated answer", &body);
}

#[tokio::test]
async fn cn_01_provider_negotiation_initiated_by_the_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    let offer = offer_for(&tck, &node, "asset-1").await;
    let (provider_pid, agreement_id) = finalize_as_consumer(&tck, &node, "urn:tck:c:1").await;
    let agreement = tck
        .expect("/callback/negotiations/urn:tck:c:1/agreement")
        .await
        .body["agreement"]
        .clone();
    // The agreement carries exactly the offered rules, between the right parties.
    assert_eq!(
        agreement["permission"], offer["permission"],
        "agreement terms differ from the offer"
    );
    assert_eq!(agreement["assigner"], "did:web:provider.example");
    assert_eq!(agreement["assignee"], TCK);
    assert_eq!(agreement["target"], "asset-1");
    assert!(agreement["timestamp"].is_string());
    let (status, negotiation) = tck
        .call(
            &node,
            Method::GET,
            &format!("/dsp/negotiations/{provider_pid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(negotiation["state"], "FINALIZED");
    assert_eq!(
        node.connector
            .agreement(&agreement_id)
            .await
            .unwrap()
            .consumer_id,
        TCK
    );
}

#[tokio::test]
async fn cn_02_provider_negotiation_terminations() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    // The consumer terminates after the agreement arrived.
    let offer = offer_for(&tck, &node, "asset-1").await;
    let (_, ack) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:2", &offer, &tck.callback())),
        )
        .await;
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
    tck.expect("/callback/negotiations/urn:tck:c:2/agreement")
        .await;
    let termination = json!({"@context": [CTX], "@type": "ContractNegotiationTerminationMessage",
        "providerPid": provider_pid, "consumerPid": "urn:tck:c:2", "code": "1", "reason": ["changed my mind"]});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/negotiations/{provider_pid}/termination"),
            Some(termination.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, negotiation) = tck
        .call(
            &node,
            Method::GET,
            &format!("/dsp/negotiations/{provider_pid}"),
            None,
        )
        .await;
    assert_eq!(negotiation["state"], "TERMINATED");
    // A terminal state accepts nothing more.
    let verification = json!({"@context": [CTX], "@type": "ContractAgreementVerificationMessage",
        "providerPid": provider_pid, "consumerPid": "urn:tck:c:2"});
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/negotiations/{provider_pid}/agreement/verification"),
            Some(verification),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "ContractNegotiationError");
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/negotiations/{provider_pid}/termination"),
            Some(termination),
        )
        .await;
    // Messages are delivered at least once: a repeated termination is acknowledged and
    // changes nothing.
    assert_eq!(status, StatusCode::OK);
    let (_, negotiation) = tck
        .call(
            &node,
            Method::GET,
            &format!("/dsp/negotiations/{provider_pid}"),
            None,
        )
        .await;
    assert_eq!(negotiation["state"], "TERMINATED");

    // The provider terminates when its contract policy refuses the consumer.
    let offer = offer_for(&tck, &node, "asset-2").await;
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:3", &offer, &tck.callback())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let terminated = tck
        .expect("/callback/negotiations/urn:tck:c:3/termination")
        .await;
    assert_eq!(terminated.body["providerPid"], ack["providerPid"]);
    assert_eq!(
        tck.received_count("/callback/negotiations/urn:tck:c:3/agreement"),
        0
    );
}

#[tokio::test]
async fn cn_03_provider_negotiation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    let before = node
        .connector
        .negotiations(tsunagu_store::Page::ALL)
        .await
        .unwrap()
        .len();
    let offer = offer_for(&tck, &node, "asset-1").await;

    // An offer id the provider never issued.
    let mut unknown = offer.clone();
    unknown["@id"] = json!("urn:uuid:not-an-offer");
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:x", &unknown, &tck.callback())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["@type"], "ContractNegotiationError");
    assert_eq!(error["consumerPid"], "urn:tck:c:x");

    // Terms other than those offered.
    let mut changed = offer.clone();
    changed["permission"][0]["constraint"][0]["rightOperand"] = json!("marketing");
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:y", &changed, &tck.callback())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A message that fails its schema: an initial request without callbackAddress.
    let mut malformed = request_message("urn:tck:c:z", &offer, &tck.callback());
    malformed.as_object_mut().unwrap().remove("callbackAddress");
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(malformed),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "ContractNegotiationError");
    // Not JSON at all.
    let response = tck
        .client
        .post(format!("{}/dsp/negotiations/request", node.public_url))
        .header("x-tsunagu-participant", TCK)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A callback address that is not understood.
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:w", &offer, "ftp://x")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        node.connector
            .negotiations(tsunagu_store::Page::ALL)
            .await
            .unwrap()
            .len(),
        before,
        "refused messages must change nothing"
    );

    // Unknown process, and a process of another party: both 404.
    let (status, error) = tck
        .call(
            &node,
            Method::GET,
            "/dsp/negotiations/urn:uuid:unknown",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["@type"], "ContractNegotiationError");
    let (provider_pid, _) = finalize_as_consumer(&tck, &node, "urn:tck:c:4").await;
    let (status, _) = tck
        .call_as(
            "did:web:intruder.example",
            &node,
            Method::GET,
            &format!("/dsp/negotiations/{provider_pid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Events the consumer may not send: FINALIZED, and ACCEPTED when the last offer is its own.
    let (_, ack) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:5", &offer, &tck.callback())),
        )
        .await;
    let pid = ack["providerPid"].as_str().unwrap().to_owned();
    tck.expect("/callback/negotiations/urn:tck:c:5/agreement")
        .await;
    for event in ["FINALIZED", "ACCEPTED"] {
        let message = json!({"@context": [CTX], "@type": "ContractNegotiationEventMessage",
            "providerPid": pid, "consumerPid": "urn:tck:c:5", "eventType": event});
        let (status, error) = tck
            .call(
                &node,
                Method::POST,
                &format!("/dsp/negotiations/{pid}/events"),
                Some(message),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{event}: {error}");
        assert_eq!(error["@type"], "ContractNegotiationError");
    }
    // A path that names one process and a body that names another.
    let message = json!({"@context": [CTX], "@type": "ContractAgreementVerificationMessage",
        "providerPid": "urn:uuid:other", "consumerPid": "urn:tck:c:5"});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/negotiations/{pid}/agreement/verification"),
            Some(message),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, negotiation) = tck
        .call(
            &node,
            Method::GET,
            &format!("/dsp/negotiations/{pid}"),
            None,
        )
        .await;
    assert_eq!(
        negotiation["state"], "AGREED",
        "refused messages must not move the negotiation"
    );
}

/// Publishes nothing; the node negotiates as consumer with the TCK as provider.
fn tck_offer() -> Value {
    json!({"@id": "urn:tck:offer:1", "@type": "Offer", "target": "urn:tck:dataset:1",
           "permission": [{"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "cfp"}]}]})
}

fn tck_agreement(consumer: &str) -> Value {
    json!({"@id": "urn:tck:agreement:1", "@type": "Agreement", "target": "urn:tck:dataset:1",
           "assigner": TCK, "assignee": consumer, "timestamp": "2026-11-29T12:00:00Z",
           "permission": [{"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "cfp"}]}]})
}

async fn consumer_negotiation(tck: &Tck, node: &Node) -> String {
    let negotiation = node
        .connector
        .start_negotiation(StartNegotiation {
            counter_party_address: format!("{}/dsp", tck.base),
            counter_party_id: TCK.into(),
            offer: tck_offer(),
        })
        .await
        .unwrap();
    let request = tck.expect("/dsp/negotiations/request").await;
    assert_eq!(request.body["consumerPid"], negotiation.id.as_str());
    assert_eq!(request.body["offer"]["@id"], "urn:tck:offer:1");
    assert!(
        request.body["callbackAddress"]
            .as_str()
            .unwrap()
            .ends_with("/dsp/callback")
    );
    negotiation.id
}

#[tokio::test]
async fn cn_c_01_consumer_negotiation_it_initiates() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("consumer", &dir).await;
    let tck = Tck::start().await;
    let id = consumer_negotiation(&tck, &node).await;
    let agreement = json!({"@context": [CTX], "@type": "ContractAgreementMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "agreement": tck_agreement("did:web:consumer.example")});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/agreement"),
            Some(agreement),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let verification = tck
        .expect("/dsp/negotiations/urn:tck:negotiation:1/agreement/verification")
        .await;
    assert_eq!(verification.body["consumerPid"], id.as_str());
    let event = json!({"@context": [CTX], "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "eventType": "FINALIZED"});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/events"),
            Some(event.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, negotiation) = tck
        .call(
            &node,
            Method::GET,
            &format!("/dsp/callback/negotiations/{id}"),
            None,
        )
        .await;
    assert_eq!(negotiation["state"], "FINALIZED");
    let stored = node.connector.negotiation(&id).await.unwrap();
    assert_eq!(stored.agreement.unwrap().id, "urn:tck:agreement:1");
    // An event after the terminal state MUST be handled as an error (DSP 2025-1).
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/events"),
            Some(event),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "ContractNegotiationError");
}

#[tokio::test]
async fn cn_c_02_consumer_negotiation_initiated_by_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("consumer", &dir).await;
    let tck = Tck::start().await;
    let offer = json!({"@context": [CTX], "@type": "ContractOfferMessage", "providerPid": "urn:tck:negotiation:1",
        "offer": tck_offer(), "callbackAddress": format!("{}/dsp", tck.base)});
    let (status, ack) = tck
        .call(&node, Method::POST, "/dsp/negotiations/offers", Some(offer))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["state"], "OFFERED");
    let consumer_pid = ack["consumerPid"].as_str().unwrap().to_owned();
    node.connector.accept_offer(&consumer_pid).await.unwrap();
    let accepted = tck
        .expect("/dsp/negotiations/urn:tck:negotiation:1/events")
        .await;
    assert_eq!(accepted.body["eventType"], "ACCEPTED");
    let agreement = json!({"@context": [CTX], "@type": "ContractAgreementMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": consumer_pid, "agreement": tck_agreement("did:web:consumer.example")});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{consumer_pid}/agreement"),
            Some(agreement),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    tck.expect("/dsp/negotiations/urn:tck:negotiation:1/agreement/verification")
        .await;
    let event = json!({"@context": [CTX], "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": consumer_pid, "eventType": "FINALIZED"});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{consumer_pid}/events"),
            Some(event),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        node.connector
            .negotiation(&consumer_pid)
            .await
            .unwrap()
            .state,
        NegotiationState::Finalized
    );

    // A counter-offer by the provider on a negotiation the consumer requested.
    let id = consumer_negotiation(&tck, &node).await;
    let counter = json!({"@context": [CTX], "@type": "ContractOfferMessage", "providerPid": "urn:tck:negotiation:1",
        "consumerPid": id, "offer": tck_offer()});
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/offers"),
            Some(counter),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["state"], "OFFERED");
}

#[tokio::test]
async fn cn_c_03_consumer_negotiation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("consumer", &dir).await;
    let tck = Tck::start().await;
    let id = consumer_negotiation(&tck, &node).await;
    // FINALIZED before any agreement: illegal.
    let event = json!({"@context": [CTX], "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "eventType": "FINALIZED"});
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/events"),
            Some(event),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "ContractNegotiationError");
    // An agreement on other terms than requested is refused and changes nothing.
    let mut other = tck_agreement("did:web:consumer.example");
    other["permission"][0]["constraint"][0]["rightOperand"] = json!("anything");
    let message = json!({"@context": [CTX], "@type": "ContractAgreementMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "agreement": other});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/agreement"),
            Some(message),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An agreement assigned to somebody else is refused too.
    let message = json!({"@context": [CTX], "@type": "ContractAgreementMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "agreement": tck_agreement("did:web:someone-else")});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/agreement"),
            Some(message),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        node.connector.negotiation(&id).await.unwrap().state,
        NegotiationState::Requested
    );
    // Unknown process.
    let message = json!({"@context": [CTX], "@type": "ContractAgreementMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": "urn:uuid:nobody", "agreement": tck_agreement("did:web:consumer.example")});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/callback/negotiations/urn:uuid:nobody/agreement",
            Some(message),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The provider terminates.
    let termination = json!({"@context": [CTX], "@type": "ContractNegotiationTerminationMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "reason": ["no stock"]});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/negotiations/{id}/termination"),
            Some(termination),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stored = node.connector.negotiation(&id).await.unwrap();
    assert_eq!(stored.state, NegotiationState::Terminated);
    assert!(stored.error.unwrap().contains("no stock"));
}

fn transfer_request(consumer_pid: &str, agreement: &str, format: &str, callback: &str) -> Value {
    json!({"@context": [CTX], "@type": "TransferRequestMessage", "consumerPid": consumer_pid,
           "agreementId": agreement, "format": format, "callbackAddress": callback})
}

async fn fetch(tck: &Tck, endpoint: &str, token: &str) -> (u16, Vec<u8>) {
    let response = tck
        .client
        .get(endpoint)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

fn pull_address(start: &Received) -> (String, String) {
    let address = &start.body["dataAddress"];
    let endpoint = address["endpoint"].as_str().unwrap().to_owned();
    let token = address["endpointProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "authorization")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    (endpoint, token)
}

#[tokio::test]
async fn tp_01_provider_pull_transfer_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    let (_, agreement) = finalize_as_consumer(&tck, &node, "urn:tck:c:10").await;
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/transfers/request",
            Some(transfer_request(
                "urn:tck:t:1",
                &agreement,
                "HttpData-PULL",
                &tck.callback(),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["state"], "REQUESTED");
    let pid = ack["providerPid"].as_str().unwrap().to_owned();
    let start = tck.expect("/callback/transfers/urn:tck:t:1/start").await;
    let (endpoint, token) = pull_address(&start);
    assert_eq!(fetch(&tck, &endpoint, &token).await, (200, DATA.to_vec()));
    assert_eq!(fetch(&tck, &endpoint, "wrong-token").await.0, 404);

    let ids = |m: &str| json!({"@context": [CTX], "@type": m, "providerPid": pid, "consumerPid": "urn:tck:t:1"});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/transfers/{pid}/suspension"),
            Some(ids("TransferSuspensionMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fetch(&tck, &endpoint, &token).await.0,
        404,
        "a suspended transfer serves no data"
    );
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/transfers/{pid}/start"),
            Some(ids("TransferStartMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack["state"], "STARTED");
    assert_eq!(
        fetch(&tck, &endpoint, &token).await.0,
        200,
        "a resumed transfer serves again"
    );
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/transfers/{pid}/completion"),
            Some(ids("TransferCompletionMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, process) = tck
        .call(&node, Method::GET, &format!("/dsp/transfers/{pid}"), None)
        .await;
    assert_eq!(process["state"], "COMPLETED");
    assert_eq!(
        fetch(&tck, &endpoint, &token).await.0,
        404,
        "a completed transfer serves no data"
    );
}

#[tokio::test]
async fn tp_02_provider_transfer_requests_idempotence_and_termination() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    let (_, agreement) = finalize_as_consumer(&tck, &node, "urn:tck:c:20").await;
    let request = transfer_request("urn:tck:t:2", &agreement, "HttpData-PULL", &tck.callback());
    let (status, first) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/transfers/request",
            Some(request.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, second) = tck
        .call(&node, Method::POST, "/dsp/transfers/request", Some(request))
        .await;
    assert!(status.is_success());
    assert_eq!(
        first["providerPid"], second["providerPid"],
        "a repeated request is answered, not applied twice"
    );
    assert_eq!(
        node.connector
            .transfers(tsunagu_store::Page::ALL)
            .await
            .unwrap()
            .len(),
        1
    );
    let pid = first["providerPid"].as_str().unwrap().to_owned();
    let start = tck.expect("/callback/transfers/urn:tck:t:2/start").await;
    let (endpoint, token) = pull_address(&start);
    let termination = json!({"@context": [CTX], "@type": "TransferTerminationMessage",
        "providerPid": pid, "consumerPid": "urn:tck:t:2", "code": "1", "reason": ["done"]});
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/transfers/{pid}/termination"),
            Some(termination),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetch(&tck, &endpoint, &token).await.0, 404);

    // Unknown agreement, unsupported format: 400 and nothing created.
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/transfers/request",
            Some(transfer_request(
                "urn:tck:t:3",
                "urn:uuid:none",
                "HttpData-PULL",
                &tck.callback(),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "TransferError");
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/transfers/request",
            Some(transfer_request(
                "urn:tck:t:4",
                &agreement,
                "AmazonS3-PUSH",
                &tck.callback(),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Someone else cannot use the agreement.
    let (status, _) = tck
        .call_as(
            "did:web:intruder.example",
            &node,
            Method::POST,
            "/dsp/transfers/request",
            Some(transfer_request(
                "urn:tck:t:5",
                &agreement,
                "HttpData-PULL",
                &tck.callback(),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        node.connector
            .transfers(tsunagu_store::Page::ALL)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn tp_03_provider_transfer_errors_and_push() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let tck = Tck::start().await;
    let (_, agreement) = finalize_as_consumer(&tck, &node, "urn:tck:c:30").await;

    // Push: the provider starts, delivers to the consumer's address with its token, completes.
    let mut request =
        transfer_request("urn:tck:t:30", &agreement, "HttpData-PUSH", &tck.callback());
    request["dataAddress"] = json!({"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": format!("{}/inbox/t30", tck.base),
        "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "push-token"},
                               {"@type": "EndpointProperty", "name": "authType", "value": "bearer"}]});
    let (status, ack) = tck
        .call(&node, Method::POST, "/dsp/transfers/request", Some(request))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    let pid = ack["providerPid"].as_str().unwrap().to_owned();
    tck.expect("/callback/transfers/urn:tck:t:30/start").await;
    let pushed = tck.expect("/inbox/t30").await;
    assert_eq!(pushed.raw, DATA);
    assert_eq!(pushed.authorization.as_deref(), Some("Bearer push-token"));
    tck.expect("/callback/transfers/urn:tck:t:30/completion")
        .await;
    let (_, process) = tck
        .call(&node, Method::GET, &format!("/dsp/transfers/{pid}"), None)
        .await;
    assert_eq!(process["state"], "COMPLETED");

    // Illegal transitions on a completed transfer.
    for (path, kind) in [
        ("suspension", "TransferSuspensionMessage"),
        ("completion", "TransferCompletionMessage"),
        ("start", "TransferStartMessage"),
    ] {
        let message = json!({"@context": [CTX], "@type": kind, "providerPid": pid, "consumerPid": "urn:tck:t:30"});
        let (status, error) = tck
            .call(
                &node,
                Method::POST,
                &format!("/dsp/transfers/{pid}/{path}"),
                Some(message),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(error["@type"], "TransferError");
        assert_eq!(error["providerPid"], pid.as_str());
    }
    // Unknown and foreign processes.
    let (status, _) = tck
        .call(&node, Method::GET, "/dsp/transfers/urn:uuid:none", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = tck
        .call_as(
            "did:web:intruder.example",
            &node,
            Method::GET,
            &format!("/dsp/transfers/{pid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A push without an address is refused.
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/transfers/request",
            Some(transfer_request(
                "urn:tck:t:31",
                &agreement,
                "HttpData-PUSH",
                &tck.callback(),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Brings the node, as consumer, to a finalized agreement with the TCK as provider.
async fn consumer_agreement(tck: &Tck, node: &Node) -> String {
    let id = consumer_negotiation(tck, node).await;
    let agreement = json!({"@context": [CTX], "@type": "ContractAgreementMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "agreement": tck_agreement("did:web:consumer.example")});
    tck.call(
        node,
        Method::POST,
        &format!("/dsp/callback/negotiations/{id}/agreement"),
        Some(agreement),
    )
    .await;
    let event = json!({"@context": [CTX], "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:tck:negotiation:1", "consumerPid": id, "eventType": "FINALIZED"});
    tck.call(
        node,
        Method::POST,
        &format!("/dsp/callback/negotiations/{id}/events"),
        Some(event),
    )
    .await;
    node.connector
        .wait_for_negotiation(&id, |s| s == NegotiationState::Finalized, WAIT)
        .await
        .unwrap();
    "urn:tck:agreement:1".to_owned()
}

async fn consumer_transfer(tck: &Tck, node: &Node, mode: TransferMode) -> String {
    let agreement = consumer_agreement(tck, node).await;
    let transfer = node
        .connector
        .start_transfer(StartTransfer {
            counter_party_address: format!("{}/dsp", tck.base),
            agreement_id: agreement.clone(),
            mode,
        })
        .await
        .unwrap();
    let request = tck.expect("/dsp/transfers/request").await;
    assert_eq!(request.body["agreementId"], agreement.as_str());
    assert_eq!(request.body["consumerPid"], transfer.id.as_str());
    transfer.id
}

#[tokio::test]
async fn tp_c_01_consumer_pull_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("consumer", &dir).await;
    let tck = Tck::start().await;
    let id = consumer_transfer(&tck, &node, TransferMode::Pull).await;
    let start = json!({"@context": [CTX], "@type": "TransferStartMessage", "providerPid": "urn:tck:transfer:1", "consumerPid": id,
        "dataAddress": {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": format!("{}/data", tck.base),
            "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "tck-token"},
                                   {"@type": "EndpointProperty", "name": "authType", "value": "bearer"}]}});
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/transfers/{id}/start"),
            Some(start),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["state"], "STARTED");
    let mut data = node.connector.pull_data(&id).await.unwrap();
    let mut bytes = Vec::new();
    while let Some(piece) = data.body.next().await {
        bytes.extend_from_slice(&piece.unwrap());
    }
    assert_eq!(bytes, DATA);
    // The consumer completes; the provider hears it.
    node.connector
        .act_on_transfer(&id, tsunagu_core::TransferAction::SendCompletion)
        .await
        .unwrap();
    let completion = tck
        .expect("/dsp/transfers/urn:tck:transfer:1/completion")
        .await;
    assert_eq!(completion.body["consumerPid"], id.as_str());
}

#[tokio::test]
async fn tp_c_02_consumer_transfer_suspension_and_termination() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("consumer", &dir).await;
    let tck = Tck::start().await;
    let id = consumer_transfer(&tck, &node, TransferMode::Pull).await;
    let ids = |kind: &str| json!({"@context": [CTX], "@type": kind, "providerPid": "urn:tck:transfer:1", "consumerPid": id});
    let mut start = ids("TransferStartMessage");
    start["dataAddress"] = json!({"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": format!("{}/data", tck.base),
        "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "tck-token"}]});
    tck.call(
        &node,
        Method::POST,
        &format!("/dsp/callback/transfers/{id}/start"),
        Some(start),
    )
    .await;
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/transfers/{id}/suspension"),
            Some(ids("TransferSuspensionMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack["state"], "SUSPENDED");
    assert!(
        node.connector.pull_data(&id).await.is_err(),
        "no fetching while suspended"
    );
    // The consumer resumes.
    node.connector
        .act_on_transfer(&id, tsunagu_core::TransferAction::SendStart)
        .await
        .unwrap();
    tck.expect("/dsp/transfers/urn:tck:transfer:1/start").await;
    assert_eq!(
        node.connector.transfer(&id).await.unwrap().state,
        TransferState::Started
    );
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/transfers/{id}/termination"),
            Some(ids("TransferTerminationMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        node.connector.transfer(&id).await.unwrap().state,
        TransferState::Terminated
    );
}

#[tokio::test]
async fn tp_c_03_consumer_transfer_errors_and_push_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("consumer", &dir).await;
    let tck = Tck::start().await;
    let id = consumer_transfer(&tck, &node, TransferMode::Push).await;
    let request = tck.expect("/dsp/transfers/request").await;
    let address = &request.body["dataAddress"];
    let endpoint = address["endpoint"]
        .as_str()
        .expect("a push request names where to push")
        .to_owned();
    let token = address["endpointProperties"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = |kind: &str| json!({"@context": [CTX], "@type": kind, "providerPid": "urn:tck:transfer:1", "consumerPid": id});
    // Completion before start is illegal.
    let (status, error) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/transfers/{id}/completion"),
            Some(ids("TransferCompletionMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["@type"], "TransferError");
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/transfers/{id}/start"),
            Some(ids("TransferStartMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The inbox refuses a wrong token and takes the right one.
    let wrong = tck
        .client
        .post(&endpoint)
        .bearer_auth("nope")
        .body(DATA)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let right = tck
        .client
        .post(&endpoint)
        .bearer_auth(&token)
        .body(DATA)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let (status, _) = tck
        .call(
            &node,
            Method::POST,
            &format!("/dsp/callback/transfers/{id}/completion"),
            Some(ids("TransferCompletionMessage")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut data = node.connector.received_data(&id).await.unwrap();
    let mut bytes = Vec::new();
    while let Some(piece) = data.body.next().await {
        bytes.extend_from_slice(&piece.unwrap());
    }
    assert_eq!(bytes, DATA);
    // Unknown consumer process.
    let (status, _) = tck
        .call(&node, Method::POST, "/dsp/callback/transfers/urn:uuid:none/suspension", Some(json!({"@context": [CTX],
            "@type": "TransferSuspensionMessage", "providerPid": "urn:tck:transfer:1", "consumerPid": "urn:uuid:none"})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn two_tsunagu_connectors_negotiate_and_transfer_with_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let provider = connector("provider", &dir).await;
    let consumer = connector("consumer", &dir).await;
    publish(&provider).await;
    let request = json!({"@context": [CTX], "@type": "CatalogRequestMessage"});
    let (catalog, _) = consumer
        .connector
        .request_catalog(provider.participant_id(), &provider.dsp_url(), request)
        .await
        .unwrap();
    let offer = catalog["dataset"][0]["hasPolicy"][0].clone();
    let negotiation = consumer
        .connector
        .start_negotiation(StartNegotiation {
            counter_party_address: provider.dsp_url(),
            counter_party_id: "did:web:provider.example".into(),
            offer,
        })
        .await
        .unwrap();
    let done = consumer
        .connector
        .wait_for_negotiation(&negotiation.id, NegotiationState::is_terminal, WAIT)
        .await
        .unwrap();
    assert_eq!(done.state, NegotiationState::Finalized, "{:?}", done.error);
    let provider_side = provider
        .connector
        .negotiations(tsunagu_store::Page::ALL)
        .await
        .unwrap();
    assert_eq!(provider_side[0].state, NegotiationState::Finalized);
    let agreement = done.agreement.unwrap();
    assert_eq!(
        provider_side[0].agreement.as_ref().unwrap().policy,
        agreement.policy,
        "both sides hold the same agreement"
    );
    for mode in [TransferMode::Pull, TransferMode::Push] {
        let transfer = consumer
            .connector
            .start_transfer(StartTransfer {
                counter_party_address: provider.dsp_url(),
                agreement_id: agreement.id.clone(),
                mode,
            })
            .await
            .unwrap();
        let expected = match mode {
            TransferMode::Pull => TransferState::Started,
            TransferMode::Push => TransferState::Completed,
        };
        let state = consumer
            .connector
            .wait_for_transfer(&transfer.id, |s| s == expected, WAIT)
            .await
            .unwrap();
        let mut data = match mode {
            TransferMode::Pull => consumer.connector.pull_data(&state.id).await.unwrap(),
            TransferMode::Push => consumer.connector.received_data(&state.id).await.unwrap(),
        };
        let mut bytes = Vec::new();
        while let Some(piece) = data.body.next().await {
            bytes.extend_from_slice(&piece.unwrap());
        }
        assert_eq!(bytes, DATA, "{mode:?}");
    }
}

/// Regression: the ODRL `count` operand limits the uses of an agreement over all its
/// transfers, not the uses of one transfer (a consumer could otherwise open new transfers to
/// reset the count).
#[tokio::test]
async fn count_limits_uses_of_the_agreement_across_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let node = connector("provider", &dir).await;
    publish(&node).await;
    let c = &node.connector;
    c.create_policy_definition(NewPolicyDefinition {
        id: Some("twice".into()),
        policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
            {"leftOperand": "count", "operator": "lteq", "rightOperand": 2}]}]}),
    })
    .await
    .unwrap();
    c.create_contract_definition(NewContractDefinition {
        id: Some("def-twice".into()),
        access_policy_id: "open".into(),
        contract_policy_id: "twice".into(),
        assets: AssetSelector::Ids(vec!["asset-2".into()]),
    })
    .await
    .unwrap();
    let tck = Tck::start().await;
    let (status, catalog) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/catalog/request",
            Some(json!({"@context": [CTX], "@type": "CatalogRequestMessage"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let dataset = catalog["dataset"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["@id"] == "asset-2")
        .unwrap();
    let mut offer = dataset["hasPolicy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["permission"][0]["constraint"][0]["leftOperand"] == "count")
        .expect("the count-limited offer")
        .clone();
    offer["target"] = json!("asset-2");
    let (status, ack) = tck
        .call(
            &node,
            Method::POST,
            "/dsp/negotiations/request",
            Some(request_message("urn:tck:c:count", &offer, &tck.callback())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    let provider_pid = ack["providerPid"].as_str().unwrap().to_owned();
    let agreement = tck
        .expect("/callback/negotiations/urn:tck:c:count/agreement")
        .await;
    let agreement_id = agreement.body["agreement"]["@id"]
        .as_str()
        .unwrap()
        .to_owned();
    tck.call(
        &node,
        Method::POST,
        &format!("/dsp/negotiations/{provider_pid}/agreement/verification"),
        Some(
            json!({"@context": [CTX], "@type": "ContractAgreementVerificationMessage",
                    "providerPid": provider_pid, "consumerPid": "urn:tck:c:count"}),
        ),
    )
    .await;
    tck.expect("/callback/negotiations/urn:tck:c:count/events")
        .await;

    let mut addresses = Vec::new();
    for consumer_pid in ["urn:tck:t:count-1", "urn:tck:t:count-2"] {
        let (status, ack) = tck
            .call(
                &node,
                Method::POST,
                "/dsp/transfers/request",
                Some(transfer_request(
                    consumer_pid,
                    &agreement_id,
                    "HttpData-PULL",
                    &tck.callback(),
                )),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ack}");
        let start = tck
            .expect(&format!("/callback/transfers/{consumer_pid}/start"))
            .await;
        addresses.push(pull_address(&start));
    }
    let (first_endpoint, first_token) = &addresses[0];
    let (second_endpoint, second_token) = &addresses[1];
    assert_eq!(
        fetch(&tck, first_endpoint, first_token).await.0,
        200,
        "first use"
    );
    assert_eq!(
        fetch(&tck, second_endpoint, second_token).await.0,
        200,
        "second use"
    );
    assert_eq!(
        fetch(&tck, first_endpoint, first_token).await.0,
        403,
        "a third use under the agreement is refused, whichever transfer it comes through"
    );
    assert_eq!(fetch(&tck, second_endpoint, second_token).await.0, 403);
}
