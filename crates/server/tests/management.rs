//! The management API in process: a real connector on a temporary SQLite store, driven through
//! `management_router` with `tower::ServiceExt::oneshot`. Nothing here crosses connectors (the
//! peer refuses every call); cross-connector flows are tested end to end elsewhere.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use tsunagu_engine::{Connector, Settings};
use tsunagu_server::{AppState, DevHeaderAuthenticator, management_router};
use tsunagu_store::SqliteStore;

const KEY: &str = "test-management-key";
const EDC: &str = "https://w3id.org/edc/v0.0.1/ns/";

struct Api {
    router: Router,
    _directory: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer with `status` whose detail contains `detail`.
    fn assert_problem(&self, status: StatusCode, detail: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["type"], "about:blank");
        assert_eq!(problem["status"], status.as_u16());
        assert!(problem["title"].is_string());
        let text = problem["detail"].as_str().unwrap();
        assert!(text.contains(detail), "detail {text:?} lacks {detail:?}");
    }
}

async fn api() -> Api {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("x.sqlite"))
        .await
        .unwrap();
    let settings = Settings::new(
        "did:web:consumer.example".into(),
        "http://127.0.0.1:9/dsp".into(),
        "http://127.0.0.1:9/data".into(),
    );
    let connector = Connector::new(
        Arc::new(store),
        Arc::new(tsunagu_testkit::UnreachablePeer),
        settings,
    );
    let state = AppState {
        connector,
        authenticator: Arc::new(DevHeaderAuthenticator),
        management_api_key: KEY.into(),
    };
    Api {
        router: management_router(state),
        _directory: directory,
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("X-Api-Key", KEY)
            .header(CONTENT_TYPE, "application/json");
        let body = body.map_or_else(Body::empty, |body| Body::from(body.to_string()));
        self.send(request.body(body).unwrap()).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates something and returns the id of the `IdResponse`.
    async fn create(&self, path: &str, body: Value) -> String {
        let answer = self.post(path, body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let id_response = answer.json();
        assert_eq!(id_response["@type"], "IdResponse");
        assert!(id_response["createdAt"].as_i64().unwrap() > 0);
        assert_eq!(id_response["@context"]["@vocab"], EDC);
        id_response["@id"].as_str().unwrap().to_owned()
    }

    async fn create_policy(&self, id: &str) {
        self.create(
            "/management/v3/policydefinitions",
            json!({
                "@context": {"@vocab": EDC},
                "@id": id,
                "policy": {
                    "@context": "http://www.w3.org/ns/odrl.jsonld",
                    "@type": "Set",
                    "permission": [{"action": "use"}],
                },
            }),
        )
        .await;
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["@id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_route_requires_the_api_key() {
    let api = api().await;
    let without = Request::get("/management/openapi.json")
        .body(Body::empty())
        .unwrap();
    api.send(without)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "X-Api-Key");
    let same_length = "x".repeat(KEY.len());
    for wrong in ["wrong", same_length.as_str(), ""] {
        let request = Request::get("/management/openapi.json")
            .header("X-Api-Key", wrong)
            .body(Body::empty())
            .unwrap();
        let answer = api.send(request).await;
        answer.assert_problem(StatusCode::UNAUTHORIZED, "X-Api-Key");
        assert!(!String::from_utf8_lossy(&answer.body).contains(KEY));
    }

    let document = api.get("/management/openapi.json").await;
    assert_eq!(document.status, StatusCode::OK);
    let document = document.json();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let uri = path.replace("{id}", "urn:uuid:some-record");
            for key in [None, Some("wrong")] {
                let mut request = Request::builder().method(method.clone()).uri(&uri);
                if let Some(key) = key {
                    request = request.header("X-Api-Key", key);
                }
                // A 401 (not 404 or 405) shows that the documented route is served.
                let answer = api.send(request.body(Body::from("{}")).unwrap()).await;
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            }
            operations += 1;
        }
    }
    assert_ne!(operations, 0, "the document lists no operation");
}

#[tokio::test]
async fn assets_in_every_edc_spelling() {
    let api = api().await;
    // Compact keys under an @vocab context.
    let id = api
        .create(
            "/management/v3/assets",
            json!({
                "@context": {"@vocab": EDC, "dct": "http://purl.org/dc/terms/"},
                "@type": "Asset",
                "@id": "cell-pcf",
                "properties": {"name": "Cell PCF", "dct:type": {"@id": "cx-taxo:PcfExchange"}, "contenttype": "application/json"},
                "privateProperties": {"internal": "ignored"},
            }),
        )
        .await;
    assert_eq!(id, "cell-pcf");
    // `edc:` prefixes.
    api.create(
        "/management/v3/assets",
        json!({
            "@context": {"edc": EDC},
            "@id": "prefixed",
            "edc:properties": {"edc:name": "Prefixed"},
            "edc:dataAddress": {"edc:type": "tsunagu:Stored"},
        }),
    )
    .await;
    // A fully expanded document with a generated id.
    let generated = api
        .create(
            "/management/v3/assets",
            json!([{
                "@type": [format!("{EDC}Asset")],
                format!("{EDC}properties"): [{format!("{EDC}name"): [{"@value": "Expanded"}]}],
                format!("{EDC}dataAddress"): [{format!("{EDC}type"): [{"@value": "HttpData"}], format!("{EDC}baseUrl"): [{"@value": "https://erp.example/pcf"}]}],
            }]),
        )
        .await;
    assert!(generated.starts_with("urn:uuid:"));

    let asset = api.get("/management/v3/assets/cell-pcf").await;
    assert_eq!(asset.status, StatusCode::OK);
    let asset = asset.json();
    assert_eq!(asset["@type"], "Asset");
    assert_eq!(asset["@id"], "cell-pcf");
    assert_eq!(asset["properties"]["name"], "Cell PCF");
    assert_eq!(asset["properties"]["id"], "cell-pcf");
    assert_eq!(
        asset["properties"]["dct:type"],
        json!({"@id": "cx-taxo:PcfExchange"})
    );
    assert_eq!(asset["dataAddress"]["type"], "tsunagu:Stored");
    assert_eq!(asset["dataAddress"]["contentType"], "application/json");
    assert_eq!(asset["dataAddress"]["size"], 0);
    assert_eq!(asset["@context"]["edc"], EDC);

    let expanded = api
        .get(&format!("/management/v3/assets/{generated}"))
        .await
        .json();
    assert_eq!(expanded["properties"]["name"], "Expanded");
    assert_eq!(
        expanded["dataAddress"]["baseUrl"],
        "https://erp.example/pcf"
    );
    assert_eq!(
        api.get("/management/v3/assets/prefixed").await.json()["properties"]["name"],
        "Prefixed"
    );

    // Replacing properties, sending back what GET showed.
    let mut replacement = asset.clone();
    replacement["properties"]["name"] = json!("Cell PCF v2");
    let answer = api
        .call(Method::PUT, "/management/v3/assets", Some(replacement))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let asset = api.get("/management/v3/assets/cell-pcf").await.json();
    assert_eq!(asset["properties"]["name"], "Cell PCF v2");
    let unknown = json!({"@id": "nope", "properties": {}});
    api.call(Method::PUT, "/management/v3/assets", Some(unknown))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");

    // Duplicates conflict.
    api.post(
        "/management/v3/assets",
        json!({"@id": "cell-pcf", "properties": {}}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "already exists");

    let answer = api
        .call(Method::DELETE, "/management/v3/assets/cell-pcf", None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    api.get("/management/v3/assets/cell-pcf")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");
    api.call(Method::DELETE, "/management/v3/assets/cell-pcf", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");
}

#[tokio::test]
async fn source_credentials_are_never_shown() {
    let api = api().await;
    let secret = "s3cret-source-credential";
    api.create(
        "/management/v3/assets",
        json!({
            "@context": {"@vocab": EDC},
            "@id": "erp",
            "properties": {"name": "ERP"},
            "dataAddress": {"@type": "DataAddress", "type": "HttpData", "baseUrl": "https://erp.example/api", "authKey": "X-Api-Key", "authCode": secret},
        }),
    )
    .await;
    let single = api.get("/management/v3/assets/erp").await;
    let list = api.post("/management/v3/assets/request", json!({})).await;
    for answer in [&single, &list] {
        assert_eq!(answer.status, StatusCode::OK);
        assert!(!String::from_utf8_lossy(&answer.body).contains(secret));
    }
    let asset = single.json();
    assert_eq!(asset["dataAddress"]["authKey"], "X-Api-Key");
    assert_eq!(asset["dataAddress"]["authCode"], "***");

    // Sending the masked view back keeps the credential; changing the source is refused.
    let answer = api
        .call(Method::PUT, "/management/v3/assets", Some(asset.clone()))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let mut moved = asset.clone();
    moved["dataAddress"]["baseUrl"] = json!("https://elsewhere.example");
    api.call(Method::PUT, "/management/v3/assets", Some(moved))
        .await
        .assert_problem(StatusCode::CONFLICT, "dataAddress");
    // The mask is not a credential for a new asset.
    let mut copy = asset;
    copy["@id"] = json!("erp-copy");
    api.post("/management/v3/assets", copy)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "dataAddress.authCode");
    // The owner's download reaches the source, which is not there.
    api.get("/management/v3/assets/erp/data")
        .await
        .assert_problem(StatusCode::BAD_GATEWAY, "counter-party");
}

#[tokio::test]
async fn stored_bytes_are_uploaded_and_read_back_in_chunks() {
    let api = api().await;
    api.create(
        "/management/v3/assets",
        json!({"@id": "big", "properties": {"name": "Big"}}),
    )
    .await;
    // 3 MiB and a bit, sent in uneven pieces, so that the store keeps several chunks.
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let pieces: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(300_001)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    let request = Request::put("/management/v3/assets/big/data")
        .header("X-Api-Key", KEY)
        .header(CONTENT_TYPE, "application/x-battery-passport")
        .body(Body::from_stream(futures::stream::iter(pieces)))
        .unwrap();
    let answer = api.send(request).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let asset = answer.json();
    assert_eq!(asset["dataAddress"]["size"], data.len());
    assert_eq!(
        asset["dataAddress"]["sha256"],
        "fe2aaf82bfa2ffec207a0c6fa7ce7d4af268d67e2672fdaec675f3f9b65d0854"
    );
    assert_eq!(
        asset["dataAddress"]["contentType"],
        "application/x-battery-passport"
    );

    let download = api.get("/management/v3/assets/big/data").await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.content_type(), "application/x-battery-passport");
    assert_eq!(
        download.headers["content-length"],
        data.len().to_string().as_str()
    );
    assert!(download.body == data, "the bytes read back differ");

    // An asset served from an HTTP source has no stored bytes to replace.
    api.create(
        "/management/v3/assets",
        json!({"@id": "remote", "dataAddress": {"type": "HttpData", "baseUrl": "https://erp.example"}}),
    )
    .await;
    let request = Request::put("/management/v3/assets/remote/data")
        .header("X-Api-Key", KEY)
        .body(Body::from("x"))
        .unwrap();
    api.send(request)
        .await
        .assert_problem(StatusCode::CONFLICT, "HTTP source");
    let request = Request::put("/management/v3/assets/unknown/data")
        .header("X-Api-Key", KEY)
        .body(Body::from("x"))
        .unwrap();
    api.send(request)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");
}

#[tokio::test]
async fn policy_definitions_and_their_use() {
    let api = api().await;
    api.create_policy("members-only").await;
    let generated = api
        .create(
            "/management/v3/policydefinitions",
            json!({"edc:policy": {"@type": "odrl:Set", "odrl:permission": {"odrl:action": {"@id": "odrl:use"}}}}),
        )
        .await;

    let definition = api
        .get("/management/v3/policydefinitions/members-only")
        .await
        .json();
    assert_eq!(definition["@type"], "PolicyDefinition");
    assert_eq!(
        definition["policy"]["@context"],
        "http://www.w3.org/ns/odrl.jsonld"
    );
    assert_eq!(definition["policy"]["permission"][0]["action"], "use");
    assert!(definition["createdAt"].as_i64().unwrap() > 0);

    let replacement = json!({
        "@id": "members-only",
        "policy": {"@type": "Set", "permission": [{"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "pcf"}]}]},
    });
    let answer = api
        .call(
            Method::PUT,
            "/management/v3/policydefinitions/members-only",
            Some(replacement),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let definition = api
        .get("/management/v3/policydefinitions/members-only")
        .await
        .json();
    assert_eq!(
        definition["policy"]["permission"][0]["constraint"][0]["rightOperand"],
        "pcf"
    );
    api.call(
        Method::PUT,
        "/management/v3/policydefinitions/members-only",
        Some(json!({"@id": "other", "policy": {"permission": []}})),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "@id");

    // In use by a contract definition: cannot be deleted.
    api.create(
        "/management/v3/contractdefinitions",
        json!({"@id": "cd", "accessPolicyId": "members-only", "contractPolicyId": generated}),
    )
    .await;
    api.call(
        Method::DELETE,
        "/management/v3/policydefinitions/members-only",
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "members-only");
    let answer = api
        .call(
            Method::DELETE,
            "/management/v3/contractdefinitions/cd",
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let answer = api
        .call(
            Method::DELETE,
            "/management/v3/policydefinitions/members-only",
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    api.get("/management/v3/policydefinitions/members-only")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");

    let list = api
        .post("/management/v3/policydefinitions/request", json!({}))
        .await
        .json();
    assert_eq!(ids(&list), [generated.as_str()]);
}

#[tokio::test]
async fn contract_definitions_with_every_selector_form() {
    let api = api().await;
    api.create_policy("access").await;
    api.create_policy("contract").await;
    let forms = [
        ("all", Value::Null, json!([])),
        ("none-given", json!([]), json!([])),
        (
            "single",
            json!({"operandLeft": format!("{EDC}id"), "operator": "=", "operandRight": "a"}),
            json!([{"@type": "Criterion", "operandLeft": format!("{EDC}id"), "operator": "=", "operandRight": "a"}]),
        ),
        (
            "listed",
            json!([{"@type": "Criterion", "edc:operandLeft": "edc:id", "edc:operator": "in", "edc:operandRight": ["a", "b"]}]),
            json!([{"@type": "Criterion", "operandLeft": format!("{EDC}id"), "operator": "in", "operandRight": ["a", "b"]}]),
        ),
        (
            "short",
            json!([{"operandLeft": "id", "operator": "=", "operandRight": "b"}]),
            json!([{"@type": "Criterion", "operandLeft": format!("{EDC}id"), "operator": "=", "operandRight": "b"}]),
        ),
    ];
    for (id, selector, shown) in &forms {
        let mut body = json!({"@context": {"@vocab": EDC}, "@id": id, "accessPolicyId": "access", "contractPolicyId": "contract"});
        if !selector.is_null() {
            body["assetsSelector"] = selector.clone();
        }
        api.create("/management/v3/contractdefinitions", body).await;
        let definition = api
            .get(&format!("/management/v3/contractdefinitions/{id}"))
            .await
            .json();
        assert_eq!(definition["@type"], "ContractDefinition");
        assert_eq!(definition["accessPolicyId"], "access");
        assert_eq!(definition["contractPolicyId"], "contract");
        assert_eq!(&definition["assetsSelector"], shown, "{id}");
    }
    // Definitions made in the same millisecond are listed by id, so compare pages with the whole.
    let all = api
        .post("/management/v3/contractdefinitions/request", json!({}))
        .await
        .json();
    assert_eq!(ids(&all).len(), forms.len());
    let page = api
        .post(
            "/management/v3/contractdefinitions/request",
            json!({"offset": 1, "limit": 2}),
        )
        .await
        .json();
    assert_eq!(ids(&page), ids(&all)[1..3]);

    api.post(
        "/management/v3/contractdefinitions",
        json!({"accessPolicyId": "access", "contractPolicyId": "contract", "assetsSelector": [{"operandLeft": "name", "operator": "=", "operandRight": "x"}]}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "assetsSelector[0].operandLeft");
    api.post(
        "/management/v3/contractdefinitions",
        json!({"accessPolicyId": "access", "contractPolicyId": "missing"}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "missing");
    api.call(
        Method::DELETE,
        "/management/v3/contractdefinitions/unknown",
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not found");
}

#[tokio::test]
async fn malformed_bodies_are_refused_naming_the_field() {
    let api = api().await;
    let raw = Request::post("/management/v3/assets")
        .header("X-Api-Key", KEY)
        .body(Body::from("{\"@id\": "))
        .unwrap();
    api.send(raw)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "not valid JSON");
    let cases = [
        (
            "/management/v3/assets",
            json!({"properties": "name"}),
            "properties must be an object",
        ),
        (
            "/management/v3/assets",
            json!({"dataAddress": {"type": "HttpData"}}),
            "dataAddress.baseUrl is required",
        ),
        (
            "/management/v3/assets",
            json!({"dataAddress": {"type": "AmazonS3"}}),
            "dataAddress.type",
        ),
        (
            "/management/v3/assets",
            json!({"@id": 7}),
            "@id must be a non-empty string",
        ),
        (
            "/management/v3/assets",
            json!("text"),
            "must be a JSON object",
        ),
        (
            "/management/v3/policydefinitions",
            json!({"@id": "p"}),
            "policy is required",
        ),
        (
            "/management/v3/policydefinitions",
            json!({"policy": "use"}),
            "policy must be an object",
        ),
        (
            "/management/v3/policydefinitions",
            json!({"policy": {"permission": [{"action": 5}]}}),
            "policy",
        ),
        (
            "/management/v3/contractdefinitions",
            json!({"contractPolicyId": "c"}),
            "accessPolicyId is required",
        ),
        (
            "/management/v3/contractdefinitions",
            json!({"accessPolicyId": "a"}),
            "contractPolicyId is required",
        ),
        (
            "/management/v3/catalog/request",
            json!({}),
            "counterPartyAddress is required",
        ),
        (
            "/management/v3/transferprocesses",
            json!({"counterPartyAddress": "https://p"}),
            "contractId is required",
        ),
        (
            "/management/v3/transferprocesses",
            json!({"counterPartyAddress": "https://p", "contractId": "a", "transferType": "S3"}),
            "transferType",
        ),
        (
            "/management/v3/assets/request",
            json!({"sortField": "name"}),
            "sortField is not supported",
        ),
        (
            "/management/v3/assets/request",
            json!({"offset": -1}),
            "offset must be a non-negative integer",
        ),
    ];
    for (path, body, detail) in cases {
        api.post(path, body)
            .await
            .assert_problem(StatusCode::BAD_REQUEST, detail);
    }
    // A body is required where something is created.
    api.call(Method::POST, "/management/v3/policydefinitions", None)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "body is required");
}

#[tokio::test]
async fn listings_page_and_filter() {
    let api = api().await;
    for index in 0..5 {
        api.create(
            "/management/v3/assets",
            json!({"@id": format!("asset-{index}"), "properties": {"name": format!("n{}", index % 2)}}),
        )
        .await;
    }
    // An empty body, no body at all, and an empty object are the default query.
    let empty = Request::post("/management/v3/assets/request")
        .header("X-Api-Key", KEY)
        .body(Body::empty())
        .unwrap();
    let all = api.send(empty).await.json();
    assert_eq!(
        ids(&all),
        ["asset-0", "asset-1", "asset-2", "asset-3", "asset-4"]
    );
    let page = api
        .post(
            "/management/v3/assets/request",
            json!({"@context": {"@vocab": EDC}, "@type": "QuerySpec", "offset": 1, "limit": 2}),
        )
        .await
        .json();
    assert_eq!(ids(&page), ["asset-1", "asset-2"]);
    let beyond = api
        .post("/management/v3/assets/request", json!({"offset": 10}))
        .await
        .json();
    assert_eq!(beyond, json!([]));
    let by_id = api
        .post(
            "/management/v3/assets/request",
            json!({"filterExpression": [{"operandLeft": format!("{EDC}id"), "operator": "=", "operandRight": "asset-3"}]}),
        )
        .await
        .json();
    assert_eq!(ids(&by_id), ["asset-3"]);
    let by_property = api
        .post(
            "/management/v3/assets/request",
            json!({"offset": 1, "limit": 1, "filterExpression": [{"operandLeft": "name", "operator": "=", "operandRight": "n1"}]}),
        )
        .await
        .json();
    assert_eq!(ids(&by_property), ["asset-3"]);
}

#[tokio::test]
async fn negotiations_are_started_and_terminated() {
    let api = api().await;
    let offer = json!({
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "odrl:Offer",
        "@id": "offer-1",
        "target": "cell-pcf",
        "permission": [{"action": "use"}],
    });
    api.post(
        "/management/v3/contractnegotiations",
        json!({"@context": {"@vocab": EDC}, "counterPartyAddress": "https://provider.example/dsp", "policy": offer}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "counterPartyId is required (or policy.assigner)");
    api.post(
        "/management/v3/contractnegotiations",
        json!({"counterPartyAddress": "https://provider.example/dsp", "counterPartyId": "did:web:p"}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "policy is required");
    api.get("/management/v3/contractnegotiations/urn:uuid:unknown")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");

    let mut with_assigner = offer.clone();
    with_assigner["assigner"] = json!("did:web:provider.example");
    let id = api
        .create(
            "/management/v3/contractnegotiations",
            json!({
                "@context": {"@vocab": EDC},
                "@type": "ContractRequest",
                "counterPartyAddress": "https://provider.example/dsp",
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": with_assigner,
                "callbackAddresses": [],
            }),
        )
        .await;
    let negotiation = api
        .get(&format!("/management/v3/contractnegotiations/{id}"))
        .await
        .json();
    assert_eq!(negotiation["@type"], "ContractNegotiation");
    assert_eq!(negotiation["type"], "CONSUMER");
    assert_eq!(negotiation["state"], "REQUESTED");
    assert_eq!(negotiation["protocol"], "dataspace-protocol-http:2025-1");
    assert_eq!(negotiation["counterPartyId"], "did:web:provider.example");
    assert_eq!(
        negotiation["counterPartyAddress"],
        "https://provider.example/dsp"
    );
    let state = api
        .get(&format!("/management/v3/contractnegotiations/{id}/state"))
        .await
        .json();
    assert_eq!(
        state,
        json!({"@context": negotiation["@context"], "@type": "NegotiationState", "state": "REQUESTED"})
    );
    api.get(&format!(
        "/management/v3/contractnegotiations/{id}/agreement"
    ))
    .await
    .assert_problem(StatusCode::NOT_FOUND, "agreement");
    let listed = api
        .post(
            "/management/v3/contractnegotiations/request",
            json!({"filterExpression": [{"operandLeft": "state", "operator": "=", "operandRight": "REQUESTED"}]}),
        )
        .await
        .json();
    assert_eq!(ids(&listed), [id.as_str()]);

    // Only a provider's offer can be accepted; a requested negotiation has none.
    let answer = api
        .post(
            &format!("/management/v3/contractnegotiations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    api.post(
        &format!("/management/v3/contractnegotiations/{id}/terminate"),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "reason is required");
    let answer = api
        .post(
            &format!("/management/v3/contractnegotiations/{id}/terminate"),
            json!({"@type": "TerminateNegotiation", "@id": id, "reason": "changed our mind"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let negotiation = api
        .get(&format!("/management/v3/contractnegotiations/{id}"))
        .await
        .json();
    assert_eq!(negotiation["state"], "TERMINATED");
    assert!(
        negotiation["errorDetail"]
            .as_str()
            .unwrap()
            .contains("changed our mind")
    );
    api.post(
        &format!("/management/v3/contractnegotiations/{id}/terminate"),
        json!({"reason": "again"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "TERMINATED");
}

#[tokio::test]
async fn agreements_transfers_and_catalogs_without_a_partner() {
    let api = api().await;
    api.get("/management/v3/contractagreements/unknown")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");
    api.get("/management/v3/contractagreements/unknown/negotiation")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not found");
    assert_eq!(
        api.post("/management/v3/contractagreements/request", json!({}))
            .await
            .json(),
        json!([])
    );
    assert_eq!(
        api.post("/management/v3/transferprocesses/request", json!({}))
            .await
            .json(),
        json!([])
    );
    for path in ["", "/state", "/data"] {
        api.get(&format!("/management/v3/transferprocesses/unknown{path}"))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not found");
    }
    api.post(
        "/management/v3/transferprocesses/unknown/complete",
        json!({}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not found");
    api.post(
        "/management/v3/transferprocesses",
        json!({
            "@context": {"@vocab": EDC},
            "@type": "TransferRequest",
            "counterPartyAddress": "https://provider.example/dsp",
            "contractId": "no-such-agreement",
            "transferType": "HttpData-PULL",
            "dataDestination": {"type": "HttpProxy"},
        }),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "no-such-agreement");
    api.post(
        "/management/v3/catalog/request",
        json!({"@context": {"@vocab": EDC}, "counterPartyAddress": "https://provider.example/dsp", "protocol": "dataspace-protocol-http:2025-1"}),
    )
    .await
    .assert_problem(StatusCode::BAD_GATEWAY, "the counter-party could not be reached or refused");
    api.post(
        "/management/v3/catalog/request",
        json!({"counterPartyAddress": "https://provider.example/dsp", "protocol": "ids-multipart"}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "protocol");
}
